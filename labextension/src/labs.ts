/**
 * The sidebar's Labs section: one row per lab among the listed containers (label
 * `jupyter-ctr.lab`), with Start all, Stop all, Reset to step… and Remove all. Each calls
 * `POST /ctr/api/labs/{lab}/{action}` once; the per-container results come back together: a
 * summary in the sidebar's status line, and a dialog listing the containers that failed.
 */
import { Dialog, InputDialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { deleteIcon, historyIcon, LabIcon, runIcon, stopIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { CtrClient } from './api';
import {
  failureLines,
  groupLabs,
  ILab,
  ILabResult,
  LabAction,
  labConfirmText,
  resultSummary
} from './labmodel';
import { IContainer } from './model';

const BUTTONS: [LabAction, string, LabIcon][] = [
  ['start', 'Start all', runIcon],
  ['stop', 'Stop all', stopIcon],
  ['reset', 'Reset to step…', historyIcon],
  ['remove', 'Remove all', deleteIcon]
];

/** What the section needs from the panel. */
export interface ILabsHost {
  /** A line in the sidebar's header. */
  setStatus(text: string): void;
  /** Read the container list again (after an action). */
  refresh(): void;
}

export class LabsSection {
  readonly node = document.createElement('div');

  constructor(
    readonly client: CtrClient,
    readonly host: ILabsHost
  ) {
    this.node.className = 'jp-ctr-labs';
    this.node.hidden = true;
  }

  /** Repaint from the listed containers (hidden when none is in a lab). */
  update(containers: Iterable<IContainer>): void {
    this.last = [...containers];
    this.paint();
  }

  private paint(): void {
    this.labs = groupLabs(this.last);
    this.node.hidden = this.labs.length === 0;
    this.node.replaceChildren();
    if (!this.labs.length) {
      return;
    }
    const header = document.createElement('div');
    header.className = 'jp-ctr-header jp-ctr-labs-header';
    const title = document.createElement('span');
    title.className = 'jp-ctr-title';
    title.textContent = 'Labs';
    header.appendChild(title);
    this.node.appendChild(header);
    for (const lab of this.labs) {
      this.node.appendChild(this.renderLab(lab));
    }
  }

  /** Run a bulk action on a lab (asking first: the step for a reset, a confirmation for
   * stop and remove); returns the results, or null when cancelled or refused. */
  async run(labName: string, action: LabAction): Promise<ILabResult[] | null> {
    const lab = this.labs.find(l => l.name === labName);
    if (!lab) {
      return null;
    }
    let step = '';
    if (action === 'reset') {
      const answer = await InputDialog.getText({
        title: `Reset lab ${lab.name}`,
        label: `Rewind every container of ${lab.name} to the snapshot (step):`,
        placeholder: 'step-1',
        okLabel: 'Reset'
      });
      step = (answer.value ?? '').trim();
      if (!answer.button.accept || !step) {
        return null;
      }
    }
    if (action === 'stop' || action === 'remove') {
      const answer = await showDialog({
        title: `${action === 'stop' ? 'Stop' : 'Remove'} lab ${lab.name}`,
        body: labConfirmText(lab, action),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: action === 'stop' ? 'Stop all' : 'Remove all' })
        ]
      });
      if (!answer.button.accept) {
        return null;
      }
    }
    this.busy.add(lab.name);
    this.paint();
    this.host.setStatus(`${action} ${lab.name}…`);
    let results: ILabResult[] | null = null;
    try {
      results = await this.client.labAction(lab.name, action, step ? { step } : {});
    } catch (err) {
      this.host.setStatus('');
      await showErrorMessage(`Cannot ${action} lab ${lab.name}`, err instanceof Error ? err.message : String(err));
    } finally {
      this.busy.delete(lab.name);
      this.paint();
      this.host.refresh();
    }
    if (results) {
      this.host.setStatus(resultSummary(lab.name, action, results));
      const failures = failureLines(results);
      if (failures.length) {
        const body = document.createElement('ul');
        body.className = 'jp-ctr-lab-failures';
        for (const line of failures) {
          const item = document.createElement('li');
          item.textContent = line;
          body.appendChild(item);
        }
        await showDialog({
          title: resultSummary(lab.name, action, results),
          body: new Widget({ node: body }),
          buttons: [Dialog.okButton()]
        });
      }
    }
    return results;
  }

  private renderLab(lab: ILab): HTMLElement {
    const row = document.createElement('div');
    row.className = 'jp-ctr-lab';
    row.dataset.lab = lab.name;
    const name = document.createElement('span');
    name.className = 'jp-ctr-name';
    name.textContent = lab.name;
    row.appendChild(name);
    const count = document.createElement('span');
    count.className = 'jp-ctr-lab-count';
    count.textContent = `${lab.running}/${lab.containers} running`;
    row.appendChild(count);
    const actions = document.createElement('span');
    actions.className = 'jp-ctr-actions';
    for (const [action, label, icon] of BUTTONS) {
      const b = document.createElement('button');
      b.className = 'jp-ctr-button jp-Button jp-mod-minimal';
      if (action !== 'start') {
        b.classList.add('jp-ctr-destructive');
      }
      b.appendChild(icon.element({ tag: 'span', elementPosition: 'center', height: '16px', width: '16px' }));
      b.title = `${label} (lab ${lab.name})`;
      b.setAttribute('aria-label', b.title);
      b.dataset.action = `lab-${action}`;
      b.disabled = this.busy.has(lab.name);
      b.addEventListener('click', ev => {
        ev.stopPropagation();
        void this.run(lab.name, action);
      });
      actions.appendChild(b);
    }
    row.appendChild(actions);
    return row;
  }

  private labs: ILab[] = [];
  private last: IContainer[] = [];
  private busy = new Set<string>();
}
