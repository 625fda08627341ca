/**
 * The notebook widgets' models and views (ipywidgets 8, module `jupyter-ctr`). The Python
 * side (jupyter_ctr/widgets/) owns the state and runs the actions: these views draw the
 * traits and send button clicks as `{event: 'action', action, id?}` messages. The Terminal is
 * the lab extension's own terminal (src/terminal/widget.ts) inside the cell: its bytes go over
 * the server's websocket bridge, never through the kernel.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Message, MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { formatBytes, formatPercent } from '../format';
import { Action, IContainer, confirmText, isDestructive } from '../model';
import { codeFontFamily, CtrTerminal, ITerminalSpec } from '../terminal/widget';
import { terminalTheme } from '../terminal/theme';
import { Terminal as XTerm } from '@xterm/xterm';
import { PlayerClock, ICast, IStep, SPEEDS, downloadName, formatTime, parseCast, parseResize } from './cast';
import { widgetContext } from './context';
import { niceMax, polylinePoints, terminalPhase } from './logic';
import { MODULE_NAME, MODULE_VERSION } from './version';

/** The buttons, in the order shown (jupyter_ctr/widgets/state.py ACTIONS). */
const ACTIONS: readonly Action[] = ['start', 'stop', 'pause', 'unpause', 'checkpoint', 'restore', 'remove'];
const SVG = 'http://www.w3.org/2000/svg';
const MIB = 1024 * 1024;
const COLORS = ['#1976d2', '#e65100', '#2e7d32', '#6a1b9a', '#c62828', '#00838f', '#5d4037', '#ad1457'];

function base(name: string, view: string): Record<string, unknown> {
  return {
    _model_name: name,
    _view_name: view,
    _model_module: MODULE_NAME,
    _view_module: MODULE_NAME,
    _model_module_version: MODULE_VERSION,
    _view_module_version: MODULE_VERSION
  };
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

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  return node;
}

function badge(node: HTMLElement, state: string): void {
  node.className = `jp-ctr-badge jp-ctr-state-${state === 'removed' ? 'unknown' : state}`;
  node.textContent = state;
  node.dataset.state = state;
}

/** The question before a destructive action (the sidebar's wording); true to go on. */
async function confirmed(action: Action, c: IContainer): Promise<boolean> {
  if (!isDestructive(action)) {
    return true;
  }
  const result = await showDialog({
    title: `${action[0].toUpperCase()}${action.slice(1)} ${c.name}?`,
    body: confirmText(action, c),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: action })]
  });
  return result.button.accept;
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function asContainer(row: Record<string, unknown>): IContainer {
  return {
    id: str(row.id),
    name: str(row.name),
    image: str(row.image),
    state: str(row.state, 'unknown'),
    startedAt: Number(row.started_at ?? 0),
    exitCode: Number(row.exit_code ?? 0),
    command: [],
    restorable: row.restorable === true
  };
}

/** A small line chart: `values` scaled to `max`, in a fixed-size SVG. */
function sparkline(values: number[], max: number, width = 160, height = 28): SVGSVGElement {
  const svg = svgEl('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'jp-ctr-spark' });
  svg.append(svgEl('rect', { x: 0, y: 0, width, height, class: 'jp-ctr-spark-bg' }));
  const points = polylinePoints(values, width, height - 2, max, 60);
  if (points) {
    svg.append(svgEl('polyline', { points, class: 'jp-ctr-spark-line', transform: 'translate(0,1)' }));
  }
  return svg;
}

/** The top of a memory axis: 1, 2, 5 x 10^n MiB (at least 1 MiB), so the label reads well. */
function memoryMax(values: number[]): number {
  return niceMax(Math.max(0, ...values) / MIB, 1) * MIB;
}

function errorLine(node: HTMLElement, text: string): void {
  node.textContent = text;
  node.hidden = !text;
}

// -- ContainerPanel ----------------------------------------------------------------------------
export class ContainerPanelModel extends DOMWidgetModel {
  defaults(): Record<string, unknown> {
    return {
      ...super.defaults(),
      ...base('ContainerPanelModel', 'ContainerPanelView'),
      container_id: '',
      name: '',
      image: '',
      state: 'unknown',
      restorable: false,
      actions: [],
      busy: '',
      removed: false,
      error: '',
      cpu: [],
      memory: [],
      memory_limit: 0,
      logs: []
    };
  }
}

export class ContainerPanelView extends DOMWidgetView {
  private nameNode = el('span', 'jp-ctr-widget-name');
  private imageNode = el('span', 'jp-ctr-widget-image');
  private badgeNode = el('span', 'jp-ctr-badge');
  private busyNode = el('span', 'jp-ctr-widget-busy');
  private buttons = new Map<Action, HTMLButtonElement>();
  private errorNode = el('div', 'jp-ctr-widget-error');
  private cpuNode = el('div', 'jp-ctr-widget-stat');
  private memNode = el('div', 'jp-ctr-widget-stat');
  private logsNode = el('pre', 'jp-ctr-widget-logs');

  render(): void {
    this.el.classList.add('jp-ctr-widget', 'jp-ctr-panel-widget');
    const head = el('div', 'jp-ctr-widget-head');
    head.append(this.nameNode, this.badgeNode, this.imageNode, this.busyNode);
    const bar = el('div', 'jp-ctr-widget-actions');
    for (const action of ACTIONS) {
      const b = el('button', 'jp-mod-styled jp-ctr-widget-button', action);
      b.dataset.action = action;
      b.addEventListener('click', () => void this.click(action));
      this.buttons.set(action, b);
      bar.append(b);
    }
    const stats = el('div', 'jp-ctr-widget-stats');
    stats.append(this.cpuNode, this.memNode);
    this.el.append(head, bar, this.errorNode, stats, this.logsNode);
    this.update();
  }

  update(): void {
    const m = this.model;
    const state = String(m.get('state'));
    const actions = (m.get('actions') as string[]) ?? [];
    const busy = String(m.get('busy') ?? '');
    const removed = m.get('removed') === true;
    this.nameNode.textContent = String(m.get('name'));
    this.imageNode.textContent = String(m.get('image'));
    badge(this.badgeNode, state);
    this.busyNode.textContent = busy ? `${busy}…` : '';
    for (const [action, b] of this.buttons) {
      b.disabled = removed || !!busy || !actions.includes(action);
    }
    errorLine(this.errorNode, String(m.get('error') ?? ''));
    const cpu = (m.get('cpu') as number[]) ?? [];
    const mem = (m.get('memory') as number[]) ?? [];
    const limit = Number(m.get('memory_limit') ?? 0);
    this.cpuNode.replaceChildren(
      el('span', 'jp-ctr-widget-stat-label', `CPU ${cpu.length ? formatPercent(cpu[cpu.length - 1]) : '-'}`),
      sparkline(cpu, niceMax(Math.max(0, ...cpu), 1))
    );
    const memText = mem.length ? `${formatBytes(mem[mem.length - 1])}${limit ? ' / ' + formatBytes(limit) : ''}` : '-';
    this.memNode.replaceChildren(el('span', 'jp-ctr-widget-stat-label', `MEM ${memText}`), sparkline(mem, memoryMax(mem)));
    const logs = (m.get('logs') as string[]) ?? [];
    this.logsNode.textContent = logs.join('\n');
    this.logsNode.hidden = logs.length === 0;
  }

  private async click(action: Action): Promise<void> {
    const row = asContainer({ ...this.model.attributes, id: this.model.get('container_id') });
    if (await confirmed(action, row)) {
      this.send({ event: 'action', action });
    }
  }
}

// -- ContainerList -----------------------------------------------------------------------------
export class ContainerListModel extends DOMWidgetModel {
  defaults(): Record<string, unknown> {
    return { ...super.defaults(), ...base('ContainerListModel', 'ContainerListView'), rows: [], busy: {}, error: '' };
  }
}

export class ContainerListView extends DOMWidgetView {
  private errorNode = el('div', 'jp-ctr-widget-error');
  private body = el('tbody');

  render(): void {
    this.el.classList.add('jp-ctr-widget', 'jp-ctr-list-widget');
    const table = el('table', 'jp-ctr-widget-table');
    const head = el('thead');
    const tr = el('tr');
    for (const h of ['Name', 'Image', 'State', 'Actions']) {
      tr.append(el('th', '', h));
    }
    head.append(tr);
    table.append(head, this.body);
    this.el.append(this.errorNode, table);
    this.update();
  }

  update(): void {
    const rows = (this.model.get('rows') as Record<string, unknown>[]) ?? [];
    const busy = (this.model.get('busy') as Record<string, string>) ?? {};
    errorLine(this.errorNode, String(this.model.get('error') ?? ''));
    const out: HTMLTableRowElement[] = [];
    for (const row of rows) {
      const c = asContainer(row);
      const actions = (row.actions as string[]) ?? [];
      const tr = el('tr');
      tr.dataset.name = c.name;
      tr.dataset.id = c.id;
      const state = el('span');
      badge(state, c.state);
      const stateCell = el('td');
      stateCell.append(state);
      if (busy[c.id]) {
        stateCell.append(el('span', 'jp-ctr-widget-busy', ` ${busy[c.id]}…`));
      }
      const buttons = el('td', 'jp-ctr-widget-actions');
      for (const action of ACTIONS) {
        const b = el('button', 'jp-mod-styled jp-ctr-widget-button', action);
        b.dataset.action = action;
        b.disabled = !!busy[c.id] || !actions.includes(action);
        b.addEventListener('click', () => void this.click(action, c));
        buttons.append(b);
      }
      tr.append(el('td', 'jp-ctr-widget-name', c.name), el('td', 'jp-ctr-widget-image', c.image), stateCell, buttons);
      out.push(tr);
    }
    if (!out.length) {
      const tr = el('tr');
      const td = el('td', 'jp-ctr-widget-empty', 'No containers');
      td.colSpan = 4;
      tr.append(td);
      out.push(tr);
    }
    this.body.replaceChildren(...out);
  }

  private async click(action: Action, c: IContainer): Promise<void> {
    if (await confirmed(action, c)) {
      this.send({ event: 'action', action, id: c.id });
    }
  }
}

// -- StatsPlot ---------------------------------------------------------------------------------
interface ISeries {
  id: string;
  name: string;
  state: string;
  cpu: number[];
  memory: number[];
  limit: number;
}

export class StatsPlotModel extends DOMWidgetModel {
  defaults(): Record<string, unknown> {
    return { ...super.defaults(), ...base('StatsPlotModel', 'StatsPlotView'), series: [], history: 120, height: 220, error: '' };
  }
}

export class StatsPlotView extends DOMWidgetView {
  private errorNode = el('div', 'jp-ctr-widget-error');
  private plots = el('div', 'jp-ctr-widget-plots');
  private legend = el('div', 'jp-ctr-widget-legend');

  render(): void {
    this.el.classList.add('jp-ctr-widget', 'jp-ctr-plot-widget');
    this.el.append(this.errorNode, this.plots, this.legend);
    this.update();
  }

  update(): void {
    errorLine(this.errorNode, String(this.model.get('error') ?? ''));
    const series = (this.model.get('series') as ISeries[]) ?? [];
    const slots = Math.max(2, Number(this.model.get('history') ?? 120));
    const height = Math.max(60, Number(this.model.get('height') ?? 220));
    const cpuMax = niceMax(Math.max(0, ...series.flatMap(s => s.cpu)), 1);
    const memMax = memoryMax(series.flatMap(s => s.memory));
    this.plots.replaceChildren(
      this.chart('CPU', `${formatPercent(cpuMax)} (100% = one core)`, series, s => s.cpu, cpuMax, slots, height / 2),
      this.chart('Memory', formatBytes(memMax), series, s => s.memory, memMax, slots, height / 2)
    );
    this.legend.replaceChildren(
      ...series.map((s, i) => {
        const item = el('span', 'jp-ctr-widget-legend-item');
        item.dataset.name = s.name;
        const swatch = el('span', 'jp-ctr-widget-swatch');
        swatch.style.background = COLORS[i % COLORS.length];
        const cpu = s.cpu.length ? formatPercent(s.cpu[s.cpu.length - 1]) : '-';
        const mem = s.memory.length ? formatBytes(s.memory[s.memory.length - 1]) : '-';
        item.append(swatch, el('span', '', `${s.name} (${s.state}) CPU ${cpu}, MEM ${mem}`));
        return item;
      })
    );
  }

  private chart(title: string, top: string, series: ISeries[], pick: (s: ISeries) => number[], max: number, slots: number, height: number): HTMLElement {
    const box = el('div', 'jp-ctr-widget-chart');
    box.append(el('div', 'jp-ctr-widget-chart-title', `${title} (max ${top})`));
    const width = 600;
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', class: 'jp-ctr-widget-chart-svg' });
    svg.style.height = `${height}px`;
    svg.append(svgEl('rect', { x: 0, y: 0, width, height, class: 'jp-ctr-spark-bg' }));
    series.forEach((s, i) => {
      const points = polylinePoints(pick(s), width, height - 2, max, slots);
      if (points) {
        const line = svgEl('polyline', { points, class: 'jp-ctr-plot-line', transform: 'translate(0,1)' });
        line.style.stroke = COLORS[i % COLORS.length];
        line.dataset.name = s.name;
        svg.append(line);
      }
    });
    box.append(svg);
    return box;
  }
}

// -- Terminal ----------------------------------------------------------------------------------
export class TerminalModel extends DOMWidgetModel {
  defaults(): Record<string, unknown> {
    return {
      ...super.defaults(),
      ...base('TerminalModel', 'TerminalView'),
      container: '',
      container_id: '',
      mode: 'exec',
      command: [],
      user: '',
      exec_id: '',
      confirm: true,
      height: 320,
      status: 'connecting',
      exit_code: null,
      message: '',
      error: '',
      record: false,
      shadow: false,
      recording: false,
      recording_id: '',
      role: ''
    };
  }
}

export class TerminalView extends DOMWidgetView {
  private terminal: CtrTerminal | null = null;
  private errorNode = el('div', 'jp-ctr-widget-error');
  private observer: ResizeObserver | null = null;

  render(): void {
    this.el.classList.add('jp-ctr-widget', 'jp-ctr-cell-terminal');
    const head = el('div', 'jp-ctr-widget-head');
    const command = ((this.model.get('command') as string[]) ?? []).join(' ');
    const user = String(this.model.get('user') ?? '');
    head.append(
      el('span', 'jp-ctr-widget-name', String(this.model.get('container'))),
      el(
        'span',
        'jp-ctr-widget-image',
        this.model.get('mode') === 'attach' ? 'main process (attach)' : `${command}${user ? ` as ${user}` : ''}`
      )
    );
    this.el.append(head, this.errorNode);
    errorLine(this.errorNode, String(this.model.get('error') ?? ''));
    // Keys typed in the terminal are the terminal's: not the notebook's shortcuts (with
    // JupyterLab's bubbling keydown, stopping here is enough).
    this.el.addEventListener('keydown', ev => ev.stopPropagation());
    if (!this.model.get('container_id')) {
      return; // the Python side could not find the container: its error line says why
    }
    if (this.model.get('mode') === 'attach' && this.model.get('confirm') !== false) {
      this.showWarning();
    } else {
      this.startTerminal();
    }
  }

  update(): void {
    errorLine(this.errorNode, String(this.model.get('error') ?? ''));
    if (this.terminal) {
      this.terminal.node.style.height = `${Number(this.model.get('height') ?? 320)}px`;
    }
  }

  processLuminoMessage(msg: Message): void {
    super.processLuminoMessage(msg);
    if (msg.type === 'after-attach') {
      this.attachTerminal();
    } else if ((msg.type === 'resize' || msg.type === 'after-show') && this.terminal?.isAttached) {
      MessageLoop.sendMessage(this.terminal, Widget.ResizeMessage.UnknownSize);
    }
  }

  remove(): void {
    this.observer?.disconnect();
    this.terminal?.dispose();
    this.terminal = null;
    return super.remove() as void;
  }

  /** What the terminal tab's "Attach" dialog says, with the button in the cell. */
  private showWarning(): void {
    const container = String(this.model.get('container'));
    const keys = widgetContext().terminalConfig().detachKeys;
    const banner = el('div', 'jp-ctr-widget-warning');
    banner.append(
      el(
        'div',
        '',
        `Attach to the main process of ${container}? What you type goes to the container’s main process (PID 1): ` +
          'Ctrl-C interrupts it and may stop the container, and resizing the terminal resizes its terminal. ' +
          `Detach with ${keys || 'the detach keys (none set)'} to leave it running. ` +
          'For a shell beside it, give a command: Terminal(container, "sh").'
      )
    );
    const button = el('button', 'jp-mod-styled jp-mod-warn jp-ctr-widget-attach', 'Attach');
    button.addEventListener('click', () => {
      banner.remove();
      this.startTerminal();
    });
    banner.append(button);
    this.el.append(banner);
  }

  private startTerminal(): void {
    const m = this.model;
    const spec: ITerminalSpec = {
      container: String(m.get('container')),
      mode: m.get('mode') === 'attach' ? 'attach' : 'exec',
      command: ((m.get('command') as string[]) ?? []).map(String),
      user: String(m.get('user') ?? ''),
      execId: String(m.get('exec_id') ?? '') || undefined,
      record: m.get('record') === true,
      shadow: m.get('shadow') === true
    };
    const ctx = widgetContext();
    const terminal = new CtrTerminal(ctx.client, spec, ctx.terminalConfig());
    terminal.addClass('jp-ctr-cell-terminal-body');
    terminal.node.style.height = `${Number(m.get('height') ?? 320)}px`;
    terminal.statusChanged.connect(() => this.report());
    terminal.sessionChanged.connect(() => this.report());
    terminal.stateChanged.connect(() => {
      // the exec session, once the terminal made it: other views and reloads reattach to it
      if (terminal.spec.execId && terminal.spec.execId !== m.get('exec_id')) {
        m.set('exec_id', terminal.spec.execId);
        m.save_changes();
      }
      this.report();
    });
    this.terminal = terminal;
    this.attachTerminal();
  }

  private attachTerminal(): void {
    const t = this.terminal;
    if (!t || t.isAttached || !this.el.isConnected) {
      return;
    }
    Widget.attach(t, this.el);
    this.observer ??= new ResizeObserver(() => {
      if (this.terminal?.isAttached) {
        MessageLoop.sendMessage(this.terminal, Widget.ResizeMessage.UnknownSize);
      }
    });
    this.observer.observe(this.el);
  }

  /** Mirror the connection on the Python side (status, exit_code, message). */
  private report(): void {
    const t = this.terminal;
    if (!t) {
      return;
    }
    const status = terminalPhase(t.status, t.isOpen, t.ended);
    const code = t.ended ? (t.exitCode ?? null) : null;
    const m = this.model;
    const s = t.sessionInfo;
    const next = {
      status,
      exit_code: code,
      message: t.status,
      recording: !!s?.recording,
      recording_id: s?.recordingId ?? '',
      role: s?.role ?? ''
    };
    if (Object.entries(next).some(([k, v]) => m.get(k) !== v)) {
      m.set(next);
      m.save_changes();
    }
  }
}

// -- Player ------------------------------------------------------------------------------------
export class PlayerModel extends DOMWidgetModel {
  defaults(): Record<string, unknown> {
    return {
      ...super.defaults(),
      ...base('PlayerModel', 'PlayerView'),
      cast: '',
      title: '',
      recording_id: '',
      duration: 0,
      width: 80,
      height: 24,
      speed: 1,
      autoplay: false
    };
  }
}

/** Plays an asciicast v2 recording on an xterm.js screen of the recorded size: "o" events are
 * written, "r" events resize; seeking back resets and replays from the start in one write. */
export class PlayerView extends DOMWidgetView {
  private term: XTerm | null = null;
  private clock: PlayerClock | null = null;
  private timer = 0;
  private errorNode = el('div', 'jp-ctr-widget-error');
  private playBtn = el('button', 'jp-mod-styled jp-ctr-player-play', 'Play');
  private speedSel = el('select', 'jp-mod-styled jp-ctr-player-speed');
  private slider = el('input', 'jp-ctr-player-seek');
  private timeNode = el('span', 'jp-ctr-player-time');
  private download = el('a', 'jp-mod-styled jp-ctr-player-download', 'Download');
  private screen = el('div', 'jp-ctr-player-screen');
  private url = '';

  render(): void {
    this.el.classList.add('jp-ctr-widget', 'jp-ctr-player-widget');
    const head = el('div', 'jp-ctr-widget-head');
    head.append(el('span', 'jp-ctr-widget-name', String(this.model.get('title') || 'recording')));
    const bar = el('div', 'jp-ctr-player-bar');
    for (const s of SPEEDS) {
      const o = el('option', '', `${s}x`);
      o.value = String(s);
      this.speedSel.append(o);
    }
    this.speedSel.title = 'Playback speed';
    this.slider.type = 'range';
    this.slider.min = '0';
    this.slider.step = '0.01';
    this.slider.title = 'Seek';
    this.download.setAttribute('role', 'button');
    bar.append(this.playBtn, this.speedSel, this.slider, this.timeNode, this.download);
    this.el.append(head, this.errorNode, bar, this.screen);
    this.el.addEventListener('keydown', ev => ev.stopPropagation());
    this.playBtn.addEventListener('click', () => this.toggle());
    this.speedSel.addEventListener('change', () => {
      if (this.clock) {
        this.apply(this.clock.setSpeed(Number(this.speedSel.value), performance.now()));
        this.schedule();
      }
    });
    this.slider.addEventListener('input', () => {
      if (this.clock) {
        // a playing clock goes on from there (its next advance counts from now)
        this.apply(this.clock.seek(Number(this.slider.value)));
        if (this.clock.playing && !this.clock.ended) {
          this.apply(this.clock.play(performance.now()));
        }
        this.schedule();
      }
    });
    // the browser tests read the screen through the element
    (this.el as HTMLElement & { jpCtrScreen?: () => string }).jpCtrScreen = () => this.screenText();
    this.load();
  }

  update(): void {
    // a new cast (the Python side reassigned it): start over
    if (this.model.hasChanged('cast')) {
      this.load();
    }
  }

  remove(): void {
    window.clearTimeout(this.timer);
    this.term?.dispose();
    this.term = null;
    if (this.url) {
      URL.revokeObjectURL(this.url);
    }
    return super.remove() as void;
  }

  private load(): void {
    window.clearTimeout(this.timer);
    let cast: ICast;
    try {
      cast = parseCast(String(this.model.get('cast') ?? ''));
    } catch (err) {
      errorLine(this.errorNode, String(err instanceof Error ? err.message : err));
      return;
    }
    errorLine(this.errorNode, '');
    const speed = Number(this.model.get('speed') ?? 1);
    this.clock = new PlayerClock(cast, speed);
    this.speedSel.value = String(SPEEDS.includes(speed) ? speed : 1);
    if (!SPEEDS.includes(speed)) {
      this.clock.speed = 1;
    }
    this.slider.max = String(cast.duration);
    this.slider.value = '0';
    if (this.url) {
      URL.revokeObjectURL(this.url);
    }
    this.url = URL.createObjectURL(new Blob([String(this.model.get('cast'))], { type: 'application/x-asciicast' }));
    this.download.href = this.url;
    this.download.download = downloadName(String(this.model.get('title') ?? ''), String(this.model.get('recording_id') ?? ''));
    this.term?.dispose();
    const ctx = widgetContext();
    const config = ctx.terminalConfig();
    this.term = new XTerm({
      cols: cast.header.width,
      rows: cast.header.height,
      fontSize: config.fontSize,
      fontFamily: codeFontFamily(),
      theme: terminalTheme(config.light),
      disableStdin: true,
      cursorBlink: false,
      scrollback: 1000
    });
    this.screen.replaceChildren();
    this.term.open(this.screen);
    this.el.dataset.state = 'paused';
    this.showTime();
    if (this.model.get('autoplay') === true) {
      this.toggle();
    }
  }

  private toggle(): void {
    const clock = this.clock;
    if (!clock) {
      return;
    }
    const now = performance.now();
    this.apply(clock.playing ? clock.pause(now) : clock.play(now));
    this.schedule();
  }

  /** Draw a step of the clock on the screen. */
  private apply(step: IStep): void {
    const term = this.term;
    const cast = this.clock?.cast;
    if (!term || !cast) {
      return;
    }
    if (step.reset) {
      term.reset();
      term.resize(cast.header.width, cast.header.height);
    }
    for (const ev of step.events) {
      if (ev.code === 'o') {
        term.write(ev.data);
      } else if (ev.code === 'r') {
        const size = parseResize(ev.data);
        if (size) {
          term.resize(size.cols, size.rows);
        }
      }
    }
    this.showTime();
  }

  /** The next wake-up while playing: when the next event is due (at most 250 ms, so the
   * time and the slider move). */
  private schedule(): void {
    window.clearTimeout(this.timer);
    const clock = this.clock;
    if (!clock?.playing) {
      this.showTime();
      return;
    }
    const due = clock.nextDueMs();
    this.timer = window.setTimeout(
      () => {
        this.apply(clock.advance(performance.now()));
        this.schedule();
      },
      Math.min(250, due ?? 250)
    );
  }

  private showTime(): void {
    const clock = this.clock;
    if (!clock) {
      return;
    }
    this.playBtn.textContent = clock.playing ? 'Pause' : clock.ended && clock.position > 0 ? 'Replay' : 'Play';
    this.el.dataset.state = clock.playing ? 'playing' : clock.ended && clock.position > 0 ? 'ended' : 'paused';
    this.el.dataset.position = clock.position.toFixed(2);
    this.slider.value = String(clock.position);
    this.timeNode.textContent = `${formatTime(clock.position)} / ${formatTime(clock.cast.duration)}`;
  }

  /** The screen as text (the browser tests read it). */
  screenText(): string {
    const buf = this.term?.buffer.active;
    if (!buf) {
      return '';
    }
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) {
      lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    }
    return lines.join('\n').replace(/\n+$/, '');
  }
}
