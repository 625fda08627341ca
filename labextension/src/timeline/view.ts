/**
 * The timeline's DOM, shared by the notebook widget (src/widgets/timelineview.ts, actions
 * through the kernel) and the sidebar's Timeline tab (./panel.ts, actions over REST): the
 * Snapshot box, one row per step (name, kind label with CRIU's reason as tooltip and note
 * line, time, size, the current position) with Rewind to, Export and Remove, a busy line,
 * an error line and a note line. Rewind and Remove ask first.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';

import { formatBytes } from '../format';
import { formatTime, IStep, reasonSummary, stepProblem } from './model';

export interface ITimelineState {
  container: string;
  /** The container's API state ('running', 'exited'... or 'removed'). */
  state: string;
  steps: IStep[];
  current: string;
  suggested: string;
  busy: string;
  error: string;
  note: string;
  removed: boolean;
}

export interface ITimelineHandlers {
  snapshot(step: string): void;
  rewind(step: string): void;
  remove(step: string): void;
  exportStep(step: string): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

async function confirm(title: string, body: string, label: string): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })]
  });
  return result.button.accept;
}

export class TimelineDom {
  readonly node = el('div', 'jp-ctr-timeline');
  private nameNode = el('span', 'jp-ctr-timeline-name');
  private badgeNode = el('span', 'jp-ctr-badge');
  private busyNode = el('span', 'jp-ctr-timeline-busy');
  private input = el('input', 'jp-mod-styled jp-ctr-timeline-step');
  private snapButton = el('button', 'jp-mod-styled jp-mod-accept jp-ctr-timeline-button', 'Snapshot');
  private errorNode = el('div', 'jp-ctr-timeline-error');
  private noteNode = el('div', 'jp-ctr-timeline-note');
  private list = el('div', 'jp-ctr-timeline-steps');
  private state: ITimelineState | null = null;
  /** The name in the box was typed (not our suggestion): keep it across updates. */
  private typed = false;

  constructor(private readonly handlers: ITimelineHandlers) {
    const head = el('div', 'jp-ctr-timeline-head');
    head.append(el('span', 'jp-ctr-timeline-title', 'Timeline'), this.nameNode, this.badgeNode, this.busyNode);
    const form = el('div', 'jp-ctr-timeline-form');
    this.input.placeholder = 'step name';
    this.input.title = 'The new snapshot’s step name (letters, digits, _ . -)';
    this.input.setAttribute('aria-label', 'Step name');
    this.input.addEventListener('input', () => {
      this.typed = this.input.value !== '';
      this.checkInput();
    });
    // Keys typed here are the box's, not the notebook's shortcuts.
    this.input.addEventListener('keydown', ev => {
      ev.stopPropagation();
      if (ev.key === 'Enter') {
        this.submit();
      }
    });
    this.snapButton.dataset.action = 'snapshot';
    this.snapButton.title = 'Keep the container’s present as a named step (it keeps running)';
    this.snapButton.addEventListener('click', () => this.submit());
    form.append(this.input, this.snapButton);
    this.errorNode.hidden = true;
    this.noteNode.hidden = true;
    this.node.append(head, form, this.errorNode, this.noteNode, this.list);
  }

  update(state: ITimelineState): void {
    this.state = state;
    this.node.dataset.container = state.container;
    this.node.dataset.current = state.current;
    this.nameNode.textContent = state.container;
    this.badgeNode.className = `jp-ctr-badge jp-ctr-state-${state.removed ? 'unknown' : state.state}`;
    this.badgeNode.textContent = state.state;
    this.badgeNode.dataset.state = state.state;
    this.busyNode.textContent = state.busy ? `${state.busy}…` : '';
    if (!this.typed) {
      this.input.value = state.suggested;
    }
    this.checkInput();
    this.input.disabled = state.removed;
    this.line(this.errorNode, state.error);
    this.line(this.noteNode, state.busy ? '' : state.note);
    this.list.replaceChildren(...(state.steps.length ? state.steps.map(s => this.row(s, state)) : [this.empty(state)]));
  }

  private empty(state: ITimelineState): HTMLElement {
    return el(
      'div',
      'jp-ctr-timeline-empty',
      state.removed ? 'The container is gone.' : 'No snapshots yet: name a step and press Snapshot.'
    );
  }

  private row(s: IStep, state: ITimelineState): HTMLElement {
    const current = s.name === state.current;
    const row = el('div', `jp-ctr-timeline-row${current ? ' jp-mod-current' : ''}`);
    row.dataset.step = s.name;
    row.dataset.kind = s.kind;
    row.dataset.current = String(current);
    const marker = el('span', 'jp-ctr-timeline-marker', current ? '●' : '○');
    marker.title = current ? 'Current position: the step last rewound to or snapshotted' : '';
    const name = el('span', 'jp-ctr-timeline-stepname', s.name);
    const kind = el('span', `jp-ctr-timeline-kind jp-mod-${s.kind}`, s.label);
    kind.title =
      s.kind === 'checkpoint'
        ? 'CRIU checkpoint and files: rewinding continues the processes from this step'
        : `Filesystem only: rewinding restores the files and starts the processes afresh.\nWhy: ${s.reason}`;
    const time = el('span', 'jp-ctr-timeline-time', formatTime(s.created));
    const size = el('span', 'jp-ctr-timeline-size', formatBytes(s.size));
    const line = el('div', 'jp-ctr-timeline-line');
    line.append(marker, name, kind);
    if (current) {
      line.append(el('span', 'jp-ctr-timeline-here', 'current'));
    }
    line.append(time, size);
    const disabled = !!state.busy || state.removed;
    const actions = el('span', 'jp-ctr-timeline-actions');
    actions.append(
      this.button('Rewind to', 'rewind', `Take ${state.container} back to ${s.name}`, disabled, () => void this.rewind(s.name)),
      this.button('Export', 'export', `Download ${s.name} as a hand-in archive`, disabled, () =>
        this.handlers.exportStep(s.name)
      ),
      this.button('Remove', 'remove', `Delete the snapshot ${s.name}`, disabled, () => void this.remove(s.name))
    );
    line.append(actions);
    row.append(line);
    if (s.kind !== 'checkpoint' && s.reason) {
      const note = el('div', 'jp-ctr-timeline-reason', `filesystem only: ${reasonSummary(s.reason)}`);
      note.title = s.reason;
      row.append(note);
    }
    return row;
  }

  private button(label: string, action: string, title: string, disabled: boolean, onClick: () => void): HTMLButtonElement {
    const b = el('button', 'jp-mod-styled jp-ctr-timeline-button', label);
    b.dataset.action = action;
    b.title = title;
    b.disabled = disabled;
    b.addEventListener('click', onClick);
    return b;
  }

  private line(node: HTMLElement, text: string): void {
    node.textContent = text;
    node.hidden = !text;
  }

  private checkInput(): void {
    const problem = stepProblem(this.input.value.trim());
    const s = this.state;
    this.snapButton.disabled = !!problem || !s || !!s.busy || s.removed;
    this.input.classList.toggle('jp-mod-invalid', !!problem && this.typed);
    this.snapButton.title = problem || 'Keep the container’s present as a named step (it keeps running)';
  }

  private submit(): void {
    const step = this.input.value.trim();
    if (this.snapButton.disabled || stepProblem(step)) {
      return;
    }
    this.typed = false;
    this.handlers.snapshot(step);
  }

  private async rewind(step: string): Promise<void> {
    const c = this.state?.container ?? '';
    const ok = await confirm(
      `Rewind ${c} to ${step}?`,
      `${c} goes back to ${step}: a checkpoint continues its processes from there, a filesystem-only ` +
        'snapshot restores its files and starts it afresh. What it did since is lost (take a snapshot first to keep it).',
      'Rewind'
    );
    if (ok) {
      this.handlers.rewind(step);
    }
  }

  private async remove(step: string): Promise<void> {
    const c = this.state?.container ?? '';
    if (await confirm(`Remove ${step}?`, `Delete the snapshot ${step} of ${c}? It cannot be rewound to afterwards.`, 'Remove')) {
      this.handlers.remove(step);
    }
  }
}

/** Save `blob` as a download named `filename` (the browser's download, as the log view's). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
