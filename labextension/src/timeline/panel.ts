/**
 * A container's checkpoint timeline in a main-area tab (the sidebar row's "Timeline"): the
 * steps over REST (GET/POST/DELETE /ctr/api/containers/{name}/snapshots...), Export as a
 * browser download of .../snapshots/{step}/export, kept live by the events websocket
 * filtered on the container. The websocket starts from the container's creation, so its
 * replayed snapshot and rewind events tell the current position, then new ones follow
 * (made here, from the CLI, a notebook...).
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { CtrApiError, CtrClient } from '../api';
import { IEvent } from '../model';
import { IStep, nextStep, positionAfter, settlePosition, stepFromApi, TIMELINE_EVENTS, timelineEventFilters } from './model';
import { ITimelineState, saveBlob, TimelineDom } from './view';

/** Events arriving together cause one re-read. */
const REFETCH_DEBOUNCE_MS = 150;
/** Reconnect delays of the events websocket (the last one repeats). */
const RECONNECT_MS = [500, 1000, 2000, 5000];
let counter = 0;

function message(err: unknown): string {
  return err instanceof CtrApiError || err instanceof Error ? err.message : String(err);
}

export class TimelinePanel extends Widget {
  /** The id of the main-area panel around this widget (the tab). */
  readonly panelId: string;
  private readonly dom: TimelineDom;
  private state: ITimelineState;
  private id_ = '';
  private created = '';
  /** A snapshot or rewind event was seen: `current` is known (not just the newest step). */
  private positionKnown = false;
  private socket: WebSocket | null = null;
  private reconnects = 0;
  private reconnectTimer = 0;
  private refetchTimer = 0;

  constructor(
    private readonly client: CtrClient,
    readonly container: string
  ) {
    super();
    this.addClass('jp-ctr-timeline-panel');
    this.panelId = `jupyter-ctr-timeline-${++counter}-${Date.now().toString(36)}`;
    this.id = `${this.panelId}-content`;
    this.title.label = `Timeline: ${container.length === 64 ? container.slice(0, 12) : container}`;
    this.title.caption = `Checkpoint timeline of container ${container}`;
    this.title.closable = true;
    this.state = {
      container,
      state: 'unknown',
      steps: [],
      current: '',
      suggested: 'step-1',
      busy: '',
      error: '',
      note: '',
      removed: false
    };
    this.dom = new TimelineDom({
      snapshot: step =>
        void this.act(`snapshot ${step}`, async () => {
          const snap = stepFromApi(await this.client.snapshot(this.ref, step));
          return `${step}: ${snap.label} snapshot taken`;
        }),
      rewind: step =>
        void this.act(`rewind ${step}`, async () => {
          await this.client.rewind(this.ref, step);
          return `rewound to ${step}`;
        }),
      remove: step =>
        void this.act(`remove ${step}`, async () => {
          await this.client.removeSnapshot(this.ref, step);
          return `${step} removed`;
        }),
      exportStep: step => void this.download(step)
    });
    this.node.append(this.dom.node);
    this.dom.update(this.state);
  }

  /** The container's id once read (stable across renames), else the name asked for. */
  private get ref(): string {
    return this.id_ || this.container;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this.load();
  }

  protected onBeforeDetach(msg: Message): void {
    this.closeEvents();
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    this.closeEvents();
    window.clearTimeout(this.refetchTimer);
    super.dispose();
  }

  /** Read the container and its steps, then follow its events. */
  async load(): Promise<void> {
    try {
      const insp = await this.client.inspect(this.container);
      this.id_ = typeof insp.Id === 'string' ? insp.Id : '';
      this.created = typeof insp.Created === 'string' ? insp.Created : '';
      const st = (insp.State ?? {}) as Record<string, unknown>;
      this.set({ state: typeof st.Status === 'string' ? st.Status : 'unknown', error: '' });
      await this.refresh();
    } catch (err) {
      this.set({ error: message(err) });
      return;
    }
    this.connectEvents();
  }

  /** Read the steps (and the container's state) again. */
  async refresh(): Promise<void> {
    const [items, insp] = await Promise.all([this.client.snapshots(this.ref), this.client.inspect(this.ref)]);
    const steps: IStep[] = (items ?? []).map(stepFromApi);
    const names = steps.map(s => s.name);
    const st = (insp.State ?? {}) as Record<string, unknown>;
    this.set({
      steps,
      current: settlePosition(this.state.current, names, this.positionKnown),
      suggested: nextStep(names),
      state: typeof st.Status === 'string' ? st.Status : this.state.state
    });
  }

  private set(part: Partial<ITimelineState>): void {
    this.state = { ...this.state, ...part };
    this.dom.update(this.state);
  }

  /** Run an action (`fn` resolves to the note saying what it did); its failure is shown. */
  private async act(what: string, fn: () => Promise<string>): Promise<void> {
    this.set({ busy: what, error: '', note: '' });
    try {
      this.set({ note: await fn() });
    } catch (err) {
      this.set({ error: `${what}: ${message(err)}` });
    } finally {
      this.set({ busy: '' });
      this.scheduleRefetch();
    }
  }

  private async download(step: string): Promise<void> {
    this.set({ busy: `export ${step}`, error: '', note: '' });
    try {
      saveBlob(await this.client.exportSnapshot(this.ref, step), `${this.container}-${step}.tar.gz`);
      this.set({ note: `${step} downloaded as ${this.container}-${step}.tar.gz` });
    } catch (err) {
      this.set({ error: `export ${step}: ${message(err)}` });
    } finally {
      this.set({ busy: '' });
    }
  }

  // -- events ---------------------------------------------------------------------------------
  private connectEvents(): void {
    if (this.isDisposed || this.socket || !this.id_ || this.state.removed) {
      return;
    }
    const query: Record<string, string> = { filters: timelineEventFilters(this.id_) };
    if (this.created) {
      query.since = this.created;
    }
    const socket = new WebSocket(this.client.wsUrl('api/events/ws', query));
    this.socket = socket;
    socket.onopen = () => {
      this.reconnects = 0;
      this.node.dataset.events = 'open';
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') {
        try {
          this.onEvent(JSON.parse(ev.data) as IEvent);
        } catch {
          // not JSON: nothing to do with it
        }
      }
    };
    socket.onclose = () => {
      this.node.dataset.events = 'closed';
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      if (this.isDisposed || !this.isAttached || this.state.removed) {
        return;
      }
      const delay = RECONNECT_MS[Math.min(this.reconnects, RECONNECT_MS.length - 1)];
      this.reconnects++;
      // the replay from the container's creation tells the position again
      this.positionKnown = false;
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
    const action = ev.Action ?? ev.status ?? '';
    const id = ev.Actor?.ID ?? ev.id ?? '';
    if (ev.Type !== 'container' || id !== this.id_) {
      return;
    }
    if (action === 'remove') {
      this.closeEvents();
      this.set({ removed: true, state: 'removed', busy: '', error: `container ${this.container} was removed` });
      return;
    }
    if (TIMELINE_EVENTS.includes(action)) {
      const step = ev.Actor?.Attributes?.step;
      this.positionKnown = this.positionKnown || action !== 'snapshot_remove';
      this.set({ current: positionAfter(this.state.current, action, step) });
    }
    this.scheduleRefetch();
  }

  private scheduleRefetch(): void {
    if (this.state.removed) {
      return;
    }
    window.clearTimeout(this.refetchTimer);
    this.refetchTimer = window.setTimeout(() => {
      this.refresh().catch(err => {
        if (!this.state.removed) {
          this.set({ error: message(err) });
        }
      });
    }, REFETCH_DEBOUNCE_MS);
  }
}
