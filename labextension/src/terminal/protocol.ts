/**
 * The attach/exec websocket protocol of docs/websocket-protocol.md (terminado-style JSON
 * arrays), the detach-key matcher, resize bookkeeping and the reconnect policy. Nothing here
 * touches the DOM, xterm or JupyterLab, so node --test covers it.
 */

import { ISessionState, decodeSession } from './sessions';

/** A message from the server, decoded. */
export type ServerMessage =
  | { kind: 'stdout' | 'stderr'; text: string }
  | { kind: 'exit'; code: number | null }
  | { kind: 'error'; message: string }
  | { kind: 'session'; state: ISessionState };

export function stdinMessage(text: string): string {
  return JSON.stringify(['stdin', text]);
}

export function sizeMessage(rows: number, cols: number): string {
  return JSON.stringify(['set_size', rows, cols]);
}

export function closeStdinMessage(): string {
  return JSON.stringify(['close_stdin']);
}

/** A text frame from the server, or null for anything the protocol does not define. */
export function decodeMessage(frame: string): ServerMessage | null {
  let msg: unknown;
  try {
    msg = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!Array.isArray(msg) || typeof msg[0] !== 'string') {
    return null;
  }
  const [kind, arg] = msg as [string, unknown];
  switch (kind) {
    case 'stdout':
    case 'stderr':
      return typeof arg === 'string' ? { kind, text: arg } : null;
    case 'exit':
      return { kind, code: typeof arg === 'number' ? arg : null };
    case 'error':
      return { kind, message: String(arg) };
    case 'session': {
      const state = decodeSession(arg);
      return state ? { kind, state } : null;
    }
    default:
      return null;
  }
}

/**
 * Podman's detach-key syntax (`ctrl-p,ctrl-q`, `ctrl-a,x`, `ctrl-@`) as the characters the
 * terminal sends. An empty spec disables detaching. Throws on a key it cannot name.
 */
export function parseDetachKeys(spec: string): string {
  if (!spec.trim()) {
    return '';
  }
  let out = '';
  for (const raw of spec.split(',')) {
    const key = raw.trim().toLowerCase();
    if (key.length === 1) {
      out += key;
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key);
    if (!m) {
      throw new Error(`invalid detach key ${JSON.stringify(raw)}: want a-z, @, [, \\, ], ^, _ or ctrl-<key>`);
    }
    const c = m[1];
    if (c >= 'a' && c <= 'z') {
      out += String.fromCharCode(c.charCodeAt(0) - 96);
    } else {
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (!(c in special)) {
        throw new Error(`invalid detach key ${JSON.stringify(raw)}: ctrl-${c} has no control code`);
      }
      out += String.fromCharCode(special[c]);
    }
  }
  return out;
}

/**
 * Watches the keys typed for the detach sequence. A prefix of the sequence is held back
 * (as podman does) until the next key shows whether it completes the sequence; a key that
 * breaks it releases what was held.
 */
export class DetachMatcher {
  private held = '';

  constructor(readonly keys: string) {}

  /** Input typed by the user: what to send on, and whether the sequence was completed. */
  feed(data: string): { send: string; detach: boolean } {
    if (!this.keys) {
      return { send: data, detach: false };
    }
    let send = '';
    for (const ch of data) {
      const candidate = this.held + ch;
      if (this.keys.startsWith(candidate)) {
        this.held = candidate;
        if (candidate === this.keys) {
          this.held = '';
          return { send, detach: true };
        }
      } else {
        send += candidate;
        this.held = '';
      }
    }
    return { send, detach: false };
  }
}

/**
 * Which terminal sizes to send: the first at once, later ones once the panel has stopped
 * changing for `delayMs` (a drag of the splitter gives dozens), never the same size twice in
 * a row. Timers are injected so tests need no clock.
 */
export class ResizeScheduler {
  private last: [number, number] | null = null;
  private pending: [number, number] | null = null;
  private timer: unknown = null;

  constructor(
    private readonly send: (rows: number, cols: number) => void,
    readonly delayMs = 100,
    private readonly setTimer: (fn: () => void, ms: number) => unknown = (fn, ms) => setTimeout(fn, ms),
    private readonly clearTimer: (t: unknown) => void = t => clearTimeout(t as number)
  ) {}

  /** The panel has this size now. */
  request(rows: number, cols: number): void {
    if (rows <= 0 || cols <= 0) {
      return;
    }
    if (this.last === null) {
      this.flushNow(rows, cols);
      return;
    }
    this.pending = [rows, cols];
    if (this.timer !== null) {
      this.clearTimer(this.timer);
    }
    this.timer = this.setTimer(() => {
      this.timer = null;
      const p = this.pending;
      this.pending = null;
      if (p) {
        this.flushNow(p[0], p[1]);
      }
    }, this.delayMs);
  }

  /** A new connection: its first size goes at once, even if unchanged. */
  reset(): void {
    this.last = null;
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.pending = null;
  }

  get lastSent(): [number, number] | null {
    return this.last;
  }

  private flushNow(rows: number, cols: number): void {
    if (this.last && this.last[0] === rows && this.last[1] === cols) {
      return;
    }
    this.last = [rows, cols];
    this.send(rows, cols);
  }
}

/** What to do after a websocket closed. */
export type CloseAction =
  | { kind: 'ended'; code: number | null }
  | { kind: 'reconnect'; delayMs: number }
  | { kind: 'failed'; opened: boolean }
  | { kind: 'detached' };

/**
 * The connection's life: which query to connect with (replay or not), whether the screen
 * must be cleared before a replay (the ring repeats output already shown), and whether to
 * reconnect after a close. One instance per terminal tab; `restart()` starts a new session.
 */
export class SessionTracker {
  /** Output received over all connections of this session. */
  received = 0;
  /** Successful opens of this session. */
  opens = 0;
  exitCode: number | null | undefined = undefined;
  private attempts = 0;
  private detaching = false;
  private openedThisTime = false;

  constructor(
    /** True when the session already ran before this tab (a restored tab, an attach). */
    private started: boolean,
    readonly maxAttempts = 8,
    readonly baseDelayMs = 250,
    readonly maxDelayMs = 4000
  ) {}

  get ended(): boolean {
    return this.exitCode !== undefined;
  }

  /** The query of the next connection: replay whenever the session ran before. */
  query(rows: number, cols: number): Record<string, string | number> {
    if (this.started || this.opens > 0) {
      return { replay: 1 };
    }
    return rows > 0 && cols > 0 ? { rows, cols } : {};
  }

  /** True when the terminal must be cleared before this connection's replay is written. */
  clearBeforeReplay(): boolean {
    return this.received > 0 && (this.started || this.opens > 0);
  }

  opened(): void {
    this.opens += 1;
    this.openedThisTime = true;
    this.attempts = 0;
  }

  message(msg: ServerMessage): void {
    if (msg.kind === 'stdout' || msg.kind === 'stderr') {
      this.received += msg.text.length;
    } else if (msg.kind === 'exit') {
      this.exitCode = msg.code;
    }
  }

  /** The user typed the detach keys: the next close is not a drop. */
  detach(): void {
    this.detaching = true;
  }

  /** The websocket closed with `code`: reconnect (with backoff), or stop. */
  closed(code: number): CloseAction {
    const opened = this.openedThisTime;
    this.openedThisTime = false;
    if (this.exitCode !== undefined) {
      return { kind: 'ended', code: this.exitCode };
    }
    if (this.detaching) {
      this.detaching = false;
      return { kind: 'detached' };
    }
    if (!opened && this.opens === 0) {
      return { kind: 'failed', opened: false }; // refused before the upgrade (404, 409, 403)
    }
    if (code === 1000 || this.attempts >= this.maxAttempts) {
      return { kind: 'failed', opened };
    }
    this.started = true;
    const delayMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempts);
    this.attempts += 1;
    return { kind: 'reconnect', delayMs };
  }

  /** A new session in the same tab ("restart shell"). */
  restart(started: boolean): void {
    this.started = started;
    this.received = 0;
    this.opens = 0;
    this.exitCode = undefined;
    this.attempts = 0;
    this.detaching = false;
    this.openedThisTime = false;
  }

  /** Reattach after a detach or a failure: a connection to a session that ran. */
  resume(): void {
    this.started = true;
    this.attempts = 0;
  }
}

/** The text shown in the tab when the session ends. */
export function exitNote(code: number | null): string {
  return code === null ? 'exited (status unknown)' : `exited with status ${code}`;
}

/** The command run when the user names none: bash if the image has it, else sh. */
export const AUTO_SHELL = ['sh', '-c', 'command -v bash >/dev/null 2>&1 && exec bash || exec sh'];

/**
 * A command line as typed in a dialog or a setting (`bash -l`, `python3 -c 'print(1)'`) split
 * into words: whitespace separates, single quotes keep everything, double quotes and
 * backslashes as in sh (no expansions). Empty: the automatic shell.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") {
        quote = '';
      } else {
        word += c;
      }
    } else if (quote === '"') {
      if (c === '"') {
        quote = '';
      } else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) {
        words.push(word);
      }
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) {
    throw new Error(`unterminated ${quote} quote in ${JSON.stringify(line)}`);
  }
  if (inWord) {
    words.push(word);
  }
  return words.length ? words : [...AUTO_SHELL];
}
