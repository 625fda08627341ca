/**
 * The Containers panel: the container list with live state (events websocket), live CPU and
 * memory (one stats request for all visible running containers per interval), per-row
 * actions, a filter, and the images section. Plain DOM; the logic lives in model.ts.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import {
  addIcon,
  deleteIcon,
  ellipsesIcon,
  fileUploadIcon,
  historyIcon,
  LabIcon,
  offlineBoltIcon,
  pauseIcon,
  redoIcon,
  refreshIcon,
  runIcon,
  saveIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { CtrApiError, CtrClient } from './api';
import { createDialog, ICreateValue, importDialog } from './dialogs';
import { formatBytes, formatDuration, formatPercent } from './format';
import { LabsSection } from './labs';
import {
  Action,
  allowedActions,
  applyEvent,
  confirmText,
  containerFromList,
  createSpec,
  FormError,
  IContainer,
  IEvent,
  isDestructive,
  IStats,
  matchesFilter,
  mergeListed,
  rowKey,
  statsFromList,
  uptime
} from './model';
import { splitRowActions } from './rowmenu';
import { NodeCache, syncChildren } from './rowsync';
import { IRowAction } from './tokens';

/** Seconds between two stats samples while the panel is visible. */
const STATS_INTERVAL_MS = 3000;
/** Events arriving together cause one list request. */
const REFETCH_DEBOUNCE_MS = 150;
/** At most this many rows are made in one render; the others follow frame by frame. */
const ROWS_MADE_PER_FRAME = 250;
/** Reconnect delays of the events websocket (the last one repeats). */
const RECONNECT_MS = [500, 1000, 2000, 5000];

const ACTION_LABEL: Record<Action, string> = {
  start: 'Start',
  stop: 'Stop',
  kill: 'Kill',
  pause: 'Pause',
  unpause: 'Unpause',
  restart: 'Restart',
  checkpoint: 'Checkpoint',
  restore: 'Restore',
  remove: 'Remove'
};

const ACTION_ICON: Record<Action, LabIcon> = {
  start: runIcon,
  stop: stopIcon,
  kill: offlineBoltIcon,
  pause: pauseIcon,
  unpause: runIcon,
  restart: redoIcon,
  checkpoint: saveIcon,
  restore: historyIcon,
  remove: deleteIcon
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** A button's icon: each icon's element is made once and cloned (a sidebar of 1,000 rows
 * makes thousands; LabIcon.element parses its SVG each time). */
const ICON_NODES = new Map<LabIcon, HTMLElement>();

function iconNode(icon: LabIcon): HTMLElement {
  let node = ICON_NODES.get(icon);
  if (node === undefined) {
    node = icon.element({ tag: 'span', elementPosition: 'center', height: '16px', width: '16px' });
    ICON_NODES.set(icon, node);
  }
  return node.cloneNode(true) as HTMLElement;
}

function message(err: unknown): string {
  if (err instanceof CtrApiError || err instanceof FormError || err instanceof Error) {
    return err.message;
  }
  return String(err);
}

interface IImage {
  id: string;
  name: string;
  size: number;
}

export class ContainersPanel extends Widget {
  /** Extra row actions from other plugins (see IContainersSidebar). */
  readonly rowActions: IRowAction[] = [];
  /** Opens a row's "..." menu under `anchor` (set by the sidebar plugin, which owns the
   * commands); the row's container is `menuContainer` meanwhile. */
  openRowMenu: ((c: IContainer, anchor: HTMLElement) => void) | null = null;

  constructor(readonly client: CtrClient) {
    super();
    this.labs = new LabsSection(client, {
      setStatus: text => this.setStatus(text),
      refresh: () => this.scheduleRefetch()
    });
    this.addClass('jp-ctr-sidebar');
    this.node.tabIndex = -1;

    const header = el('div', 'jp-ctr-header');
    header.appendChild(el('span', 'jp-ctr-title', 'Containers'));
    header.appendChild(this.status);
    header.appendChild(this.button(addIcon, 'Create a container', 'create', () => void this.create()));
    header.appendChild(this.button(refreshIcon, 'Refresh', 'refresh', () => void this.refreshAll()));
    this.node.appendChild(header);

    this.filterInput.type = 'search';
    this.filterInput.placeholder = 'Filter by name, image, state';
    this.filterInput.className = 'jp-ctr-filter jp-mod-styled';
    this.filterInput.addEventListener('input', () => this.render());
    this.node.appendChild(this.filterInput);

    this.node.appendChild(this.labs.node);
    this.node.appendChild(this.list);
    // JupyterLab forgets the context-menu event when the menu closes, which is before the
    // chosen command runs: remember the row here.
    this.list.addEventListener('contextmenu', ev => {
      this.menuTarget = this.containerAt(ev.target as HTMLElement);
    });

    const imagesHeader = el('div', 'jp-ctr-header jp-ctr-images-header');
    imagesHeader.appendChild(el('span', 'jp-ctr-title', 'Images'));
    imagesHeader.appendChild(
      this.button(fileUploadIcon, 'Import an image archive', 'import', () => void this.importImage())
    );
    this.node.appendChild(imagesHeader);
    this.node.appendChild(this.imagesList);
  }

  /** Ask for a container's settings, create it and (by default) start it. */
  async create(): Promise<void> {
    let images: string[] = [];
    try {
      await this.refreshImages();
      images = this.images.map(i => i.name);
    } catch (err) {
      await this.fail('Cannot list images', err);
    }
    let initial: Partial<ICreateValue> = {};
    for (;;) {
      const value = await createDialog(images, initial);
      if (value === null) {
        return;
      }
      let spec: Record<string, unknown>;
      try {
        spec = createSpec(value);
      } catch (err) {
        await this.fail('Cannot create the container', err);
        initial = value; // reopen with what was typed
        continue;
      }
      let id = '';
      try {
        id = await this.client.create(spec);
        if (value.start) {
          await this.client.action(id, 'start');
        }
      } catch (err) {
        const what = id ? `Created ${value.name.trim() || id.slice(0, 12)}, but cannot start it` : 'Cannot create the container';
        await this.fail(what, err);
      }
      this.scheduleRefetch();
      return;
    }
  }

  /** Ask for an archive and import it as an image. */
  async importImage(): Promise<void> {
    const value = await importDialog();
    if (value === null) {
      return;
    }
    if (!value.file || !value.reference) {
      await this.fail('Cannot import the image', 'choose an archive and give the image a name');
      return;
    }
    this.setStatus(`importing ${value.reference}…`);
    try {
      await this.client.importImage(value.file, value.reference);
    } catch (err) {
      await this.fail('Cannot import the image', err);
    } finally {
      this.setStatus('');
    }
    await this.refreshImages().catch(err => this.fail('Cannot list images', err));
  }

  /** The row's container (by the row element or any element inside it). */
  containerAt(node: HTMLElement | undefined): IContainer | undefined {
    const rowNode = node?.closest<HTMLElement>('.jp-ctr-row');
    const id = rowNode?.dataset.id;
    return id ? this.rows.get(id) : undefined;
  }

  /** The container whose row the last context menu was opened on. */
  get menuContainer(): IContainer | undefined {
    return this.menuTarget && this.rows.get(this.menuTarget.id);
  }

  /** Add a per-row action and repaint. */
  addRowAction(action: IRowAction): void {
    this.rowActions.push(action);
    this.render();
  }

  /** Run another plugin's row action; its failure is shown, not lost. */
  async runRowAction(action: IRowAction, c: IContainer): Promise<void> {
    try {
      await action.execute(c);
    } catch (err) {
      await this.fail(`${action.label}: ${c.name}`, err);
    }
  }

  /** Run `action` on the container named `name` (asking first for destructive ones). */
  async runAction(name: string, action: Action): Promise<void> {
    const c = [...this.rows.values()].find(r => r.name === name);
    if (c === undefined) {
      return;
    }
    if (isDestructive(action)) {
      const answer = await showDialog({
        title: `${ACTION_LABEL[action]} container`,
        body: confirmText(action, c),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: ACTION_LABEL[action] })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
    }
    this.busy.add(c.id);
    this.render();
    try {
      await this.client.action(c.id, action);
    } catch (err) {
      await this.fail(`Cannot ${action} ${c.name}`, err);
    } finally {
      this.busy.delete(c.id);
      this.render();
      this.scheduleRefetch();
    }
  }

  /** Read the container and image lists again. */
  async refreshAll(): Promise<void> {
    await Promise.all([
      this.refreshContainers().catch(err => this.fail('Cannot list containers', err)),
      this.refreshImages().catch(err => this.fail('Cannot list images', err))
    ]);
  }

  async refreshContainers(): Promise<void> {
    const asked = performance.now();
    const items = await this.client.listContainers();
    this.rows = mergeListed(this.rows, items.map(containerFromList), this.touched, asked);
    this.render();
    void this.sampleStats();
  }

  async refreshImages(): Promise<void> {
    const items = await this.client.listImages();
    this.images = items.map(item => {
      const names = Array.isArray(item.Names) ? (item.Names as string[]) : [];
      const id = typeof item.Id === 'string' ? item.Id : '';
      return { id, name: names[0] ?? id.slice(0, 12), size: Number(item.Size ?? 0) };
    });
    this.renderImages();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.connectEvents();
    void this.refreshAll();
    this.ticker = window.setInterval(() => this.tick(), 1000);
  }

  protected onBeforeDetach(msg: Message): void {
    window.clearInterval(this.ticker);
    this.closeEvents();
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.sampleStats();
  }

  dispose(): void {
    window.clearInterval(this.ticker);
    this.closeEvents();
    super.dispose();
  }

  // -- events ---------------------------------------------------------------------------------
  private connectEvents(): void {
    if (this.isDisposed || this.socket) {
      return;
    }
    const socket = new WebSocket(this.client.wsUrl('api/events/ws'));
    this.socket = socket;
    socket.onopen = () => {
      if (this.reconnects > 0) {
        // events may have been missed while away: read the lists again
        void this.refreshAll();
      }
      this.reconnects = 0;
      this.node.dataset.events = 'open';
      this.setStatus('');
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') {
        return;
      }
      let event: IEvent;
      try {
        event = JSON.parse(ev.data) as IEvent;
      } catch {
        this.setStatus('events: a message was not JSON');
        return;
      }
      this.onEvent(event);
    };
    socket.onclose = (ev: CloseEvent) => {
      this.node.dataset.events = 'closed';
      if (!this.isDisposed) {
        // visible, not modal: the sidebar keeps trying and refreshes once it is back
        this.setStatus(`live updates lost (${ev.code}${ev.reason ? ' ' + ev.reason : ''}); reconnecting…`);
      }
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      if (this.isDisposed || !this.isAttached) {
        return;
      }
      const delay = RECONNECT_MS[Math.min(this.reconnects, RECONNECT_MS.length - 1)];
      this.reconnects++;
      this.reconnectTimer = window.setTimeout(() => this.connectEvents(), delay);
    };
  }

  private closeEvents(): void {
    window.clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  private onEvent(ev: IEvent): void {
    const result = applyEvent(this.rows, ev);
    const removed = ev.Type === 'container' && (ev.Action ?? ev.status) === 'remove';
    if (result.changed || removed) {
      // a list on its way must not undo this (mergeListed)
      this.touched.set(ev.Actor?.ID ?? ev.id ?? '', performance.now());
    }
    if (result.changed) {
      this.scheduleRender();
    }
    if (result.refetch) {
      this.scheduleRefetch();
    }
    if (result.images) {
      this.scheduleImages();
    }
  }

  private scheduleRefetch(): void {
    window.clearTimeout(this.refetchTimer);
    this.refetchTimer = window.setTimeout(() => {
      this.refreshContainers().catch(err => this.fail('Cannot list containers', err));
    }, REFETCH_DEBOUNCE_MS);
  }

  private scheduleImages(): void {
    window.clearTimeout(this.imagesTimer);
    this.imagesTimer = window.setTimeout(() => {
      this.refreshImages().catch(err => this.fail('Cannot list images', err));
    }, REFETCH_DEBOUNCE_MS);
  }

  // -- live figures ---------------------------------------------------------------------------
  private tick(): void {
    const now = Date.now() / 1000;
    for (const [id, node] of this.rowNodes) {
      const c = this.rows.get(id);
      const up = c ? uptime(c, now) : null;
      const span = node.querySelector('.jp-ctr-uptime');
      if (span) {
        span.textContent = up === null ? '' : formatDuration(up);
      }
    }
    if (now * 1000 - this.lastStats >= STATS_INTERVAL_MS) {
      void this.sampleStats();
    }
  }

  /** One stats request for every visible running container (none when hidden). */
  private async sampleStats(): Promise<void> {
    if (!this.isVisible || this.statsPending) {
      return;
    }
    const ids = [...this.rowNodes.keys()].filter(id => this.rows.get(id)?.state === 'running');
    this.lastStats = Date.now();
    if (!ids.length) {
      return;
    }
    this.statsPending = true;
    try {
      const items = await this.client.stats(ids);
      for (const item of items) {
        const [id, s] = statsFromList(item);
        this.stats.set(id, s);
      }
      this.renderStats();
      if (this.status.dataset.kind === 'stats') {
        this.setStatus('');
      }
    } catch (err) {
      // Often a container stopped between the list and the sample (its row follows the
      // events, the next interval samples the others). Said in the header, not in a modal
      // dialog every few seconds.
      this.setStatus(`stats: ${message(err)}`, 'stats');
    } finally {
      this.statsPending = false;
    }
  }

  private renderStats(): void {
    for (const [id, node] of this.rowNodes) {
      const c = this.rows.get(id);
      const s = c?.state === 'running' ? this.stats.get(id) : undefined;
      const cpu = node.querySelector('.jp-ctr-cpu');
      const mem = node.querySelector('.jp-ctr-mem');
      if (cpu) {
        cpu.textContent = s ? `CPU ${formatPercent(s.cpu)}` : '';
      }
      if (mem) {
        mem.textContent = s ? `MEM ${formatBytes(s.memUsage)}` : '';
        (mem as HTMLElement).title = s ? `${formatBytes(s.memUsage)} of ${formatBytes(s.memLimit)}` : '';
      }
    }
  }

  // -- rendering ------------------------------------------------------------------------------
  /** Render on the next animation frame: the events of one frame make one render. */
  private scheduleRender(): void {
    if (!this.renderFrame) {
      this.renderFrame = window.requestAnimationFrame(() => {
        this.renderFrame = 0;
        this.render();
      });
    }
  }

  /** The rows, keyed: a row's node is made again only when what it shows changed
   * (`rowKey`), and nodes are only moved into order (rowsync.ts). */
  private render(): void {
    window.cancelAnimationFrame(this.renderFrame);
    this.renderFrame = 0;
    this.labs.update(this.rows.values());
    const filter = this.filterInput.value;
    const rows = [...this.rows.values()]
      .filter(c => matchesFilter(c, filter))
      .sort((a, b) => a.name.localeCompare(b.name));
    this.rowNodes.clear();
    if (!rows.length) {
      this.rowCache.clear();
      this.list.replaceChildren(
        el('div', 'jp-ctr-empty', this.rows.size ? 'No container matches the filter.' : 'No containers.')
      );
      return;
    }
    const now = Date.now() / 1000;
    const nodes: HTMLElement[] = [];
    let made = 0;
    for (const c of rows) {
      const extras = this.rowActions.filter(extra => !extra.isVisible || extra.isVisible(c));
      const key = rowKey(c, this.busy.has(c.id), extras.map(extra => extra.id));
      if (made >= ROWS_MADE_PER_FRAME && !this.rowCache.has(c.id, key)) {
        // the rest in the next frames: a first list of 1,000 is no 200 ms freeze
        this.rowCache.keep(c.id);
        this.scheduleRender();
        continue;
      }
      const node = this.rowCache.get(c.id, key, () => {
        made++;
        return this.renderRow(c, now, extras);
      });
      this.rowNodes.set(c.id, node);
      nodes.push(node);
    }
    this.rowCache.prune();
    syncChildren(this.list, nodes);
    this.renderStats();
  }

  private renderRow(c: IContainer, now: number, extras: IRowAction[]): HTMLElement {
    const node = el('div', 'jp-ctr-row');
    node.dataset.name = c.name;
    node.dataset.id = c.id;
    node.dataset.state = c.state;
    const line1 = el('div', 'jp-ctr-line');
    const name = el('span', 'jp-ctr-name', c.name);
    name.title = `${c.name} (${c.id.slice(0, 12)})\n${c.command.join(' ')}`;
    line1.appendChild(name);
    const badge = el('span', `jp-ctr-badge jp-ctr-state-${c.state}`, c.state);
    if (c.state === 'exited' || c.state === 'stopped') {
      badge.title = `exit code ${c.exitCode}${c.restorable ? ', a checkpoint to restore' : ''}`;
    }
    line1.appendChild(badge);
    node.appendChild(line1);

    const line2 = el('div', 'jp-ctr-line jp-ctr-detail');
    line2.appendChild(el('span', 'jp-ctr-image', c.image));
    const up = uptime(c, now);
    line2.appendChild(el('span', 'jp-ctr-uptime', up === null ? '' : formatDuration(up)));
    line2.appendChild(el('span', 'jp-ctr-cpu'));
    line2.appendChild(el('span', 'jp-ctr-mem'));
    node.appendChild(line2);

    const actions = el('div', 'jp-ctr-actions');
    const busy = this.busy.has(c.id);
    const split = splitRowActions(allowedActions(c.state, c.restorable), extras);
    for (const action of split.lifecycle.inline) {
      const b = this.button(ACTION_ICON[action], ACTION_LABEL[action], action, () =>
        void this.runAction(c.name, action)
      );
      b.disabled = busy;
      if (isDestructive(action)) {
        b.classList.add('jp-ctr-destructive');
      }
      actions.appendChild(b);
    }
    for (const extra of split.extras.inline) {
      actions.appendChild(
        this.button(extra.icon, extra.label, extra.id, () => void this.runRowAction(extra, c))
      );
    }
    if (split.lifecycle.more.length || split.extras.more.length) {
      const more = this.button(ellipsesIcon, 'More actions', 'more', () => {
        this.menuTarget = c;
        this.openRowMenu?.(c, more);
      });
      more.classList.add('jp-ctr-more');
      more.setAttribute('aria-haspopup', 'menu');
      actions.appendChild(more);
    }
    node.appendChild(actions);
    return node;
  }

  private renderImages(): void {
    this.imagesList.replaceChildren();
    if (!this.images.length) {
      this.imagesList.appendChild(el('div', 'jp-ctr-empty', 'No images.'));
    }
    for (const img of [...this.images].sort((a, b) => a.name.localeCompare(b.name))) {
      const node = el('div', 'jp-ctr-image-row');
      node.dataset.name = img.name;
      const name = el('span', 'jp-ctr-name', img.name);
      name.title = img.id;
      node.appendChild(name);
      node.appendChild(el('span', 'jp-ctr-size', formatBytes(img.size)));
      const rm = this.button(deleteIcon, 'Remove image', 'remove-image', () => void this.removeImage(img));
      rm.classList.add('jp-ctr-destructive');
      node.appendChild(rm);
      this.imagesList.appendChild(node);
    }
  }

  private async removeImage(img: IImage): Promise<void> {
    const answer = await showDialog({
      title: 'Remove image',
      body: `Remove the image ${img.name}?`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      await this.client.removeImage(img.id);
    } catch (err) {
      await this.fail(`Cannot remove ${img.name}`, err);
    }
    await this.refreshImages().catch(err => this.fail('Cannot list images', err));
  }

  private button(icon: LabIcon, title: string, action: string, onClick: () => void): HTMLButtonElement {
    const b = el('button', 'jp-ctr-button jp-Button jp-mod-minimal');
    b.appendChild(iconNode(icon));
    b.title = title;
    b.setAttribute('aria-label', title);
    b.dataset.action = action;
    b.addEventListener('click', ev => {
      ev.stopPropagation();
      onClick();
    });
    return b;
  }

  private setStatus(text: string, kind = ''): void {
    this.status.textContent = text;
    this.status.title = text;
    this.status.dataset.kind = kind;
  }

  /** Show the server's message; never swallowed. */
  private async fail(title: string, err: unknown): Promise<void> {
    await showErrorMessage(title, message(err));
  }

  /** The Labs section (labs.ts): bulk actions on the listed labs. */
  readonly labs: LabsSection;
  private menuTarget: IContainer | undefined = undefined;
  private rows = new Map<string, IContainer>();
  private rowNodes = new Map<string, HTMLElement>();
  private rowCache = new NodeCache<HTMLElement>();
  /** Container id -> when an event last changed its row (mergeListed). */
  private touched = new Map<string, number>();
  private renderFrame = 0;
  private stats = new Map<string, IStats>();
  private images: IImage[] = [];
  private busy = new Set<string>();
  private list = el('div', 'jp-ctr-list');
  private imagesList = el('div', 'jp-ctr-images');
  private filterInput = el('input');
  private status = el('span', 'jp-ctr-status');
  private socket: WebSocket | null = null;
  private reconnects = 0;
  private reconnectTimer = 0;
  private refetchTimer = 0;
  private imagesTimer = 0;
  private ticker = 0;
  private lastStats = 0;
  private statsPending = false;
}
