/**
 * A terminal tab: xterm.js on the exec websocket (a shell in the container) or the
 * container's attach websocket (its main process). The connection's bookkeeping lives in
 * protocol.ts; this file is the DOM and xterm glue.
 */
import { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { ClipboardAddon } from '@xterm/addon-clipboard';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';

import { CtrApiError, CtrClient } from '../api';
import { pageHook } from './hook';
import {
  DetachMatcher,
  ResizeScheduler,
  SessionTracker,
  closeStdinMessage,
  decodeMessage,
  exitNote,
  parseDetachKeys,
  sizeMessage,
  stdinMessage
} from './protocol';
import {
  ISessionState,
  READ_ONLY_HINT,
  canResize,
  canType,
  recordBadge,
  recordButton,
  recordMessage,
  sessionBanner,
  shadowButton
} from './sessions';
import { terminalTheme } from './theme';

const LIBPOD = 'v4.0.0/libpod';

/** What a tab runs; saved by the layout restorer so a reload reconnects to the same session. */
export interface ITerminalSpec {
  /** Container name or id. */
  container: string;
  mode: 'exec' | 'attach';
  /** exec: the command and user (empty: the image's user). */
  command: string[];
  user: string;
  /** exec: the session, once created (a restored tab reattaches to it). */
  execId?: string;
  /** The tab's name for the layout restorer: fixed at creation, kept across reloads. */
  key?: string;
  /** Join the session read-only (`?shadow=1`): an instructor's watch tab. */
  shadow?: boolean;
  /** Start recording the session when connecting (`?record=1`). */
  record?: boolean;
}

export interface ITerminalConfig {
  detachKeys: string;
  fontSize: number;
  /** Off by default: with xterm's DOM renderer a blinking cursor restarts a CSS animation at
   * every keystroke, and Chromium then holds the echo's websocket message until the next frame
   * (about 10 ms more per key, bench/browser.py). */
  cursorBlink: boolean;
  light: boolean;
}

let counter = 0;

/** JupyterLab's code font as a font list. xterm measures glyphs on a canvas, where a CSS
 * `var()` does not resolve: given one, it measured a default font and spaced the letters
 * apart on rows too short for them. */
export function codeFontFamily(): string {
  const value = getComputedStyle(document.body).getPropertyValue('--jp-code-font-family').trim();
  return value || 'monospace';
}

export class CtrTerminal extends Widget {
  readonly spec: ITerminalSpec;
  /** Emitted when the state shown in the Running panel changes (exit, restart, title). */
  readonly stateChanged = new Signal<this, void>(this);
  /** Emitted whenever the bar's status changes (connected, reconnecting, exit, error). */
  readonly statusChanged = new Signal<this, void>(this);
  /** Emitted when the server's session state changes (recording, viewers, role). */
  readonly sessionChanged = new Signal<this, ISessionState | null>(this);
  readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly search = new SearchAddon();
  private readonly host: HTMLDivElement;
  private readonly bar: HTMLDivElement;
  private readonly statusNode: HTMLSpanElement;
  private readonly actionButton: HTMLButtonElement;
  private readonly findInput: HTMLInputElement;
  private readonly recBadge: HTMLSpanElement;
  private readonly recordBtn: HTMLButtonElement;
  private readonly shadowBtn: HTMLButtonElement;
  private readonly banner: HTMLDivElement;
  private sessionState: ISessionState | null = null;
  /** `?record=1` still to be asked (until the server's first session state). */
  private recordAsk: boolean;
  private takingOver = false;
  private hint = '';
  private hintTimer = 0;
  private readonly session: SessionTracker;
  private readonly resizer: ResizeScheduler;
  private detach: DetachMatcher;
  private ws: WebSocket | null = null;
  private opened = false;
  private started = false;
  private openTries = 0;
  /** True once xterm has the panel's size (before that its 80x24 is no one's size). */
  private fitted = false;
  private pendingClear = false;
  private reconnectTimer = 0;
  private fitTimer = 0;
  private statusText = '';
  private action: (() => void) | null = null;
  readonly hookId = `t${++counter}`;
  /** The id of the main-area panel around this widget (the tab). */
  readonly panelId: string;

  constructor(
    private readonly client: CtrClient,
    spec: ITerminalSpec,
    config: ITerminalConfig
  ) {
    super();
    this.spec = { ...spec, command: [...spec.command] };
    this.spec.key ??= `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    this.addClass('jp-ctr-terminal');
    this.panelId = `jupyter-ctr-terminal-${this.hookId}-${Date.now().toString(36)}`;
    this.id = `${this.panelId}-content`;
    this.title.label = this.label();
    this.title.caption = this.caption();
    this.title.closable = true;

    this.bar = document.createElement('div');
    this.bar.className = 'jp-ctr-terminal-bar';
    this.statusNode = document.createElement('span');
    this.statusNode.className = 'jp-ctr-terminal-status';
    this.actionButton = document.createElement('button');
    this.actionButton.className = 'jp-mod-styled jp-mod-accept jp-ctr-terminal-action';
    this.actionButton.hidden = true;
    this.actionButton.addEventListener('click', () => this.action?.());
    this.findInput = document.createElement('input');
    this.findInput.className = 'jp-ctr-terminal-find';
    this.findInput.placeholder = 'Find';
    this.findInput.title = 'Find in the terminal (Enter: next, Shift+Enter: previous)';
    this.findInput.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        const opts = { caseSensitive: false, decorations: undefined };
        if (ev.shiftKey) {
          this.search.findPrevious(this.findInput.value, opts);
        } else {
          this.search.findNext(this.findInput.value, opts);
        }
      } else if (ev.key === 'Escape') {
        this.search.clearDecorations();
        this.term.focus();
      }
      ev.stopPropagation();
    });
    this.recBadge = document.createElement('span');
    this.recBadge.className = 'jp-ctr-rec-badge';
    this.recBadge.textContent = 'REC';
    this.recBadge.hidden = true;
    this.recordBtn = document.createElement('button');
    this.recordBtn.className = 'jp-mod-styled jp-ctr-terminal-record';
    this.recordBtn.hidden = true;
    this.recordBtn.addEventListener('click', () => this.toggleRecording());
    this.shadowBtn = document.createElement('button');
    this.shadowBtn.className = 'jp-mod-styled jp-mod-warn jp-ctr-terminal-takeover';
    this.shadowBtn.hidden = !spec.shadow;
    this.shadowBtn.addEventListener('click', () => this.shadowAction());
    this.bar.append(this.recBadge, this.statusNode, this.actionButton, this.shadowBtn, this.recordBtn, this.findInput);
    this.banner = document.createElement('div');
    this.banner.className = 'jp-ctr-terminal-banner';
    this.banner.hidden = true;
    this.host = document.createElement('div');
    this.host.className = 'jp-ctr-terminal-host';
    this.node.append(this.bar, this.banner, this.host);
    this.recordAsk = !!spec.record;
    if (spec.shadow) {
      this.addClass('jp-mod-shadow');
    }

    this.term = new Terminal({
      cursorBlink: config.cursorBlink,
      fontSize: config.fontSize,
      fontFamily: codeFontFamily(),
      scrollback: 10000,
      allowProposedApi: true,
      theme: terminalTheme(config.light)
    });
    this.term.loadAddon(this.fitAddon);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon());
    this.term.loadAddon(new ClipboardAddon()); // OSC 52: programs in the container may copy
    this.term.attachCustomKeyEventHandler(ev => this.clipboardKeys(ev));
    this.term.onData(data => this.input(data));
    this.term.onBinary(data => this.sendRaw(data));
    this.term.onResize(({ rows, cols }) => this.fitted && this.resizer.request(rows, cols));

    this.detach = new DetachMatcher(this.detachKeys(config.detachKeys));
    this.session = new SessionTracker(spec.mode === 'attach' || !!spec.execId);
    // a viewer never resizes the owner's tty (its panel is its own)
    this.resizer = new ResizeScheduler(
      (rows, cols) => this.mayResize() && this.send(sizeMessage(rows, cols)),
      100
    );

    pageHook().terminals.set(this.hookId, {
      id: this.panelId,
      container: spec.container,
      mode: spec.mode,
      text: () => this.bufferText(),
      size: () => ({ rows: this.term.rows, cols: this.term.cols }),
      status: () => this.statusText,
      onParsed: listener => {
        const sub = this.term.onWriteParsed(listener);
        return () => sub.dispose();
      },
      drop: () => this.ws?.close(4000, 'dropped by the test hook'),
      shadow: !!spec.shadow,
      session: () => this.sessionState,
      banner: () => (this.banner.hidden ? '' : (this.banner.textContent ?? '')),
      execId: () => this.spec.execId ?? ''
    });
    this.showSession();
  }

  /** The server's session state (recording, role, viewers); null until it told. */
  get sessionInfo(): ISessionState | null {
    return this.sessionState;
  }

  /** Ask the server to start or stop recording this session. */
  setRecording(on: boolean): boolean {
    if (!this.isOpen || !recordButton(this.sessionState).enabled) {
      return false;
    }
    this.send(recordMessage(on));
    return true;
  }

  /** A viewer: "Take over" (type too) or "Release" (back to watching). */
  shadowAction(): void {
    const b = shadowButton(this.sessionState, !!this.spec.shadow);
    if (!b || !this.isOpen) {
      return;
    }
    this.takingOver = b.label === 'Take over';
    this.send(b.message);
    this.term.focus();
  }

  /** '' while connected, else what the bar says (exit status, reconnecting, error). */
  get status(): string {
    return this.statusText;
  }

  get ended(): boolean {
    return this.session.ended;
  }

  /** The session's exit code once it ended (null: unknown), else undefined. */
  get exitCode(): number | null | undefined {
    return this.session.exitCode;
  }

  /** Whether the websocket is open now. */
  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  setConfig(config: Partial<ITerminalConfig>): void {
    if (config.fontSize !== undefined && config.fontSize !== this.term.options.fontSize) {
      this.term.options.fontSize = config.fontSize;
      this.fitSoon();
    }
    if (config.cursorBlink !== undefined) {
      this.term.options.cursorBlink = config.cursorBlink;
    }
    if (config.light !== undefined) {
      this.term.options.theme = terminalTheme(config.light);
    }
    if (config.detachKeys !== undefined) {
      this.detach = new DetachMatcher(this.detachKeys(config.detachKeys));
    }
  }

  /** The visible buffer and scrollback as text (the test hook). */
  bufferText(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) {
      lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    }
    return lines.join('\n').replace(/\n+$/, '');
  }

  copySelection(): boolean {
    const text = this.term.getSelection();
    if (!text) {
      return false;
    }
    void navigator.clipboard?.writeText(text).catch(() => document.execCommand('copy'));
    return true;
  }

  async paste(): Promise<void> {
    const text = await navigator.clipboard.readText();
    this.term.paste(text);
  }

  /** A new shell in this tab (exec) or a new attach (attach), after an exit or a failure. */
  restart(): void {
    if (this.spec.shadow) {
      this.resume(); // a watch tab never starts a shell of its own
      return;
    }
    this.closeSocket();
    if (this.spec.mode === 'exec') {
      this.spec.execId = undefined;
      this.session.restart(false);
    } else {
      this.session.restart(true);
    }
    this.term.reset();
    this.title.label = this.label();
    this.stateChanged.emit();
    void this.start();
  }

  /** Ends the session: an exec shell gets EOF on stdin (it exits); an attach just leaves. */
  shutdown(): void {
    if (this.spec.mode === 'exec' && this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(closeStdinMessage());
    }
    this.dispose();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    pageHook().terminals.delete(this.hookId);
    window.clearTimeout(this.hintTimer);
    this.closeSocket();
    window.clearTimeout(this.fitTimer);
    this.term.dispose();
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    // Connect at once, even in a background tab (a restored tab must reconnect before the
    // bridge's linger ends); xterm buffers output until it is opened where it can measure.
    if (!this.started) {
      this.started = true;
      void this.start();
    }
    this.openIfVisible();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.openTries = 0;
    this.openIfVisible();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.term.focus();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.openIfVisible();
  }

  // -- connection ---------------------------------------------------------------------------
  private async start(): Promise<void> {
    if (this.spec.mode === 'exec' && !this.spec.execId) {
      this.setStatus('starting…');
      try {
        const body = await this.client.json<{ Id: string }>(
          `${LIBPOD}/containers/${encodeURIComponent(this.spec.container)}/exec`,
          {
            method: 'POST',
            body: JSON.stringify({
              Cmd: this.spec.command,
              User: this.spec.user || undefined,
              Tty: true,
              AttachStdin: true,
              AttachStdout: true,
              AttachStderr: true,
              Env: ['TERM=xterm-256color']
            }),
            headers: { 'Content-Type': 'application/json' }
          }
        );
        this.spec.execId = body.Id;
        this.stateChanged.emit(); // the restorer saves the session id
      } catch (err) {
        this.fail(err instanceof CtrApiError ? err.message : String(err));
        return;
      }
    }
    this.connect();
  }

  private connect(): void {
    this.closeSocket();
    const query: Record<string, string | number> = this.fitted
      ? this.session.query(this.term.rows, this.term.cols)
      : this.session.query(0, 0);
    if (this.spec.shadow) {
      query.shadow = 1;
      query.replay = 1;
      delete query.rows;
      delete query.cols;
    }
    if (this.recordAsk) {
      query.record = 1;
    }
    const path =
      this.spec.mode === 'exec'
        ? `api/exec/${encodeURIComponent(this.spec.execId ?? '')}/ws`
        : `api/containers/${encodeURIComponent(this.spec.container)}/attach/ws`;
    this.pendingClear = this.session.clearBeforeReplay();
    const ws = new WebSocket(this.client.wsUrl(path, query));
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) {
        return;
      }
      this.session.opened();
      this.setStatus('');
      this.resizer.reset();
      this.fitNow();
      if (this.fitted) {
        this.resizer.request(this.term.rows, this.term.cols); // the first size, at once
      }
    };
    ws.onmessage = ev => {
      if (ws !== this.ws || typeof ev.data !== 'string') {
        return;
      }
      const msg = decodeMessage(ev.data);
      if (!msg) {
        return;
      }
      this.session.message(msg);
      if (msg.kind === 'stdout' || msg.kind === 'stderr') {
        if (this.pendingClear) {
          this.pendingClear = false;
          this.term.reset(); // the replay repeats what the screen shows
        }
        this.term.write(msg.text);
      } else if (msg.kind === 'session') {
        this.recordAsk = false;
        this.takingOver = false;
        this.sessionState = msg.state;
        this.showSession();
      } else if (msg.kind === 'error') {
        if (msg.message.startsWith('read-only')) {
          this.showHint(READ_ONLY_HINT); // keys sent before the role changed back
        } else if (this.takingOver) {
          this.takingOver = false;
          this.showHint(`Take over refused: ${msg.message}`, 8000);
        } else {
          this.setStatus(`error: ${msg.message}`);
        }
      }
    };
    ws.onclose = ev => {
      if (ws !== this.ws) {
        return;
      }
      this.ws = null;
      void this.closed(ev.code);
    };
  }

  private async closed(code: number): Promise<void> {
    const action = this.session.closed(code);
    switch (action.kind) {
      case 'ended':
        this.ended_(action.code);
        break;
      case 'reconnect':
        this.setStatus('connection lost: reconnecting…');
        this.reconnectTimer = window.setTimeout(() => this.connect(), action.delayMs);
        break;
      case 'detached':
        this.setStatus('detached', 'Reattach', () => this.resume());
        break;
      case 'failed':
        this.fail(await this.explain());
        break;
    }
  }

  private ended_(code: number | null): void {
    const note = exitNote(code);
    this.term.write(`\r\n\x1b[2m[${note}]\x1b[0m\r\n`);
    if (this.spec.shadow) {
      this.setStatus(note);
    } else {
      this.setStatus(note, this.spec.mode === 'exec' ? 'Restart shell' : 'Reattach', () => this.restart());
    }
    this.title.label = `${this.label()} [${code ?? '?'}]`;
    this.stateChanged.emit();
  }

  private fail(message: string): void {
    if (this.spec.shadow) {
      this.setStatus(message, 'Rejoin', () => this.resume());
      this.stateChanged.emit();
      return;
    }
    this.setStatus(message, this.spec.mode === 'exec' ? 'Restart shell' : 'Reattach', () =>
      this.spec.mode === 'exec' && this.spec.execId ? this.resume() : this.restart()
    );
    this.stateChanged.emit();
  }

  /** Reconnect to the same session (after a detach or a failure). */
  private resume(): void {
    this.session.resume();
    this.connect();
  }

  /** Why the websocket was refused or lost (the browser does not tell the HTTP status). */
  private async explain(): Promise<string> {
    try {
      if (this.spec.mode === 'exec' && this.spec.execId) {
        const info = await this.client.json<{ Running?: boolean; ExitCode?: number }>(
          `${LIBPOD}/exec/${encodeURIComponent(this.spec.execId)}/json`
        );
        if (!info.Running) {
          this.session.message({ kind: 'exit', code: info.ExitCode ?? null });
          this.ended_(info.ExitCode ?? null);
          return this.statusText;
        }
      }
      const ctr = await this.client.json<{ State?: { Status?: string } }>(
        `${LIBPOD}/containers/${encodeURIComponent(this.spec.container)}/json`
      );
      const state = ctr.State?.Status ?? 'unknown';
      return state === 'running' ? 'cannot connect to the container' : `container is ${state}`;
    } catch (err) {
      if (err instanceof CtrApiError && err.status === 404) {
        return this.spec.mode === 'exec' ? 'the shell session is gone' : 'no such container';
      }
      return err instanceof CtrApiError ? err.message : String(err);
    }
  }

  private closeSocket(): void {
    window.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close();
    }
  }

  // -- input --------------------------------------------------------------------------------
  private input(data: string): void {
    if (!canType(this.sessionState, !!this.spec.shadow)) {
      this.showHint(READ_ONLY_HINT);
      return;
    }
    const { send, detach } = this.detach.feed(data);
    if (send) {
      this.send(stdinMessage(send));
    }
    if (detach && this.ws) {
      this.session.detach();
      this.ws.close();
    }
  }

  private send(message: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(message);
    }
  }

  private sendRaw(data: string): void {
    if (!canType(this.sessionState, !!this.spec.shadow)) {
      this.showHint(READ_ONLY_HINT);
      return;
    }
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(Uint8Array.from(data, c => c.charCodeAt(0) & 0xff));
    }
  }

  /** Ctrl+C copies when text is selected (else it is the interrupt), Ctrl+Shift+C always
   * copies; Ctrl+V and Ctrl+Shift+V let the browser paste into xterm's textarea. */
  private clipboardKeys(ev: KeyboardEvent): boolean {
    if (ev.type !== 'keydown' || !(ev.ctrlKey || ev.metaKey) || ev.altKey) {
      return true;
    }
    const key = ev.key.toLowerCase();
    if (key === 'c' && (ev.shiftKey || this.term.hasSelection())) {
      this.copySelection();
      this.term.clearSelection();
      ev.preventDefault();
      ev.stopPropagation(); // not JupyterLab's Ctrl+Shift+C (the palette)
      return false;
    }
    if (key === 'v') {
      ev.stopPropagation(); // the default action (paste) goes on
      return false;
    }
    return true;
  }

  // -- layout -------------------------------------------------------------------------------
  private fitSoon(): void {
    window.clearTimeout(this.fitTimer);
    this.fitTimer = window.setTimeout(() => this.fitNow(), 50);
  }

  /** Rendered, with a size: a background tab of the dock panel is hidden by
   * content-visibility (or scaled to nothing), where nothing can be measured. */
  private shown(): boolean {
    const host = this.host as HTMLElement & { checkVisibility?: () => boolean };
    return (
      this.isVisible &&
      host.clientWidth > 0 &&
      host.clientHeight > 0 &&
      (typeof host.checkVisibility !== 'function' || host.checkVisibility())
    );
  }

  /** xterm measures its font when opened: open it only in a visible, laid out tab. */
  private openIfVisible(): void {
    if (this.opened) {
      this.fitSoon();
      return;
    }
    if (!this.shown()) {
      if (this.isVisible && this.openTries < 120) {
        // shown but not laid out yet (the dock panel reveals it in a later frame)
        this.openTries += 1;
        requestAnimationFrame(() => this.openIfVisible());
      }
      return;
    }
    this.openTries = 0;
    this.opened = true;
    this.term.open(this.host);
    this.fitNow();
  }

  private fitNow(): void {
    if (!this.opened || !this.shown()) {
      return;
    }
    // xterm's minimum (2 columns) means it could not measure its font: not really shown
    const dims = this.fitAddon.proposeDimensions();
    if (!dims || !(dims.cols > 2 && dims.rows > 1)) {
      return;
    }
    try {
      this.fitted = true;
      this.fitAddon.fit();
      this.resizer.request(this.term.rows, this.term.cols); // also when fit kept xterm's size
    } catch {
      // not laid out yet: the next resize fits
    }
  }

  // -- recording and shadowing --------------------------------------------------------------
  private mayResize(): boolean {
    return canResize(this.sessionState, !!this.spec.shadow);
  }

  private toggleRecording(): void {
    const b = recordButton(this.sessionState);
    if (b.enabled) {
      this.setRecording(b.on);
    }
  }

  /** A passing note in the banner (typing in a read-only view, a refused take over). */
  private showHint(text: string, ms = 4000): void {
    this.hint = text;
    window.clearTimeout(this.hintTimer);
    this.hintTimer = window.setTimeout(() => {
      this.hint = '';
      this.showSession();
    }, ms);
    this.showSession();
  }

  /** The REC badge, the banner and the buttons, from the session state. */
  private showSession(): void {
    const s = this.sessionState;
    const shadow = !!this.spec.shadow;
    const badge = recordBadge(s);
    this.recBadge.hidden = !badge.shown;
    this.recBadge.title = badge.tooltip;
    this.title.className = badge.shown ? 'jp-ctr-recording' : '';
    const rec = recordButton(s);
    this.recordBtn.hidden = !rec.shown;
    this.recordBtn.textContent = rec.label;
    this.recordBtn.disabled = !rec.enabled;
    this.recordBtn.title = rec.title;
    const sb = shadowButton(s, shadow);
    this.shadowBtn.hidden = !sb;
    this.shadowBtn.textContent = sb?.label ?? '';
    this.shadowBtn.dataset.role = s?.role ?? '';
    const banner = sessionBanner(s, shadow);
    const text = this.hint || banner.text;
    this.banner.hidden = !text;
    this.banner.textContent = text;
    this.banner.dataset.level = this.hint ? 'hint' : banner.level;
    this.node.dataset.role = s?.role ?? (shadow ? 'watching' : '');
    this.node.dataset.recording = String(!!s?.recording);
    this.sessionChanged.emit(s);
  }

  // -- bits -------------------------------------------------------------------------------
  private setStatus(text: string, actionLabel = '', action: (() => void) | null = null): void {
    this.statusText = text;
    this.statusNode.textContent = text;
    this.bar.classList.toggle('jp-mod-ended', !!actionLabel);
    this.actionButton.hidden = !actionLabel;
    this.actionButton.textContent = actionLabel;
    this.action = action;
    this.statusChanged.emit();
  }

  private detachKeys(spec: string): string {
    try {
      return parseDetachKeys(spec);
    } catch (err) {
      console.warn(`jupyter-ctr: ${String(err)}; detaching is off`);
      return '';
    }
  }

  private label(): string {
    const name = this.spec.container.length === 64 ? this.spec.container.slice(0, 12) : this.spec.container;
    if (this.spec.shadow) {
      return `watch ${name}${this.spec.mode === 'attach' ? ' (main)' : ''}`;
    }
    if (this.spec.mode === 'attach') {
      return `${name} (attach)`;
    }
    const cmd = this.spec.command;
    const shown = cmd[0] === 'sh' && cmd[1] === '-c' && cmd[2]?.includes('exec bash || exec sh') ? 'shell' : cmd.join(' ');
    return `${name}: ${shown.length > 24 ? shown.slice(0, 23) + '…' : shown}`;
  }

  private caption(): string {
    if (this.spec.shadow) {
      return `A read-only view of ${this.spec.mode === 'attach' ? 'the main process' : `shell ${this.spec.execId ?? ''}`} in ${this.spec.container}`;
    }
    return this.spec.mode === 'attach'
      ? `Attached to the main process of ${this.spec.container}`
      : `${this.spec.command.join(' ')} in ${this.spec.container}${this.spec.user ? ` as ${this.spec.user}` : ''}`;
  }
}
