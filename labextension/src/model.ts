/**
 * The Containers sidebar's state, free of DOM and network code so that node --test can check
 * it: which actions a state allows, how an engine event changes the list, the create dialog's
 * form turned into libpod's SpecGenerator, and the server's error bodies turned into messages.
 */

/** One row: the fields of libpod's `GET /libpod/containers/json` the sidebar shows. */
export interface IContainer {
  id: string;
  name: string;
  image: string;
  /** libpod's API status: created, initialized, running, paused, stopping, stopped, exited... */
  state: string;
  /** Unix seconds; 0 (or negative: Go's zero time) when never started. */
  startedAt: number;
  exitCode: number;
  command: string[];
  /** The list's `Restorable` (ours, not podman's): a restore would find a checkpoint. */
  restorable: boolean;
  /** The lab it belongs to (label `jupyter-ctr.lab`), if any. */
  lab?: string;
}

/** Everything a sidebar row shows of `c` (with its busy flag and the ids of the extra
 * actions shown on it): the row is made again only when this changes. The uptime and the
 * live figures are updated in place and are not part of it. */
export function rowKey(c: IContainer, busy: boolean, extras: string[]): string {
  return JSON.stringify([c, busy, extras]);
}

/** Live figures from `GET /libpod/containers/stats`. */
export interface IStats {
  cpu: number;
  memUsage: number;
  memLimit: number;
}

export type Action =
  | 'start'
  | 'stop'
  | 'kill'
  | 'pause'
  | 'unpause'
  | 'restart'
  | 'checkpoint'
  | 'restore'
  | 'remove';

/** Every action, in the order the row shows them. */
export const ALL_ACTIONS: readonly Action[] = [
  'start',
  'stop',
  'pause',
  'unpause',
  'restart',
  'kill',
  'checkpoint',
  'restore',
  'remove'
];

const BY_STATE: Record<string, readonly Action[]> = {
  created: ['start', 'remove'],
  configured: ['start', 'remove'],
  initialized: ['start', 'remove'],
  running: ['stop', 'pause', 'restart', 'kill', 'checkpoint', 'remove'],
  paused: ['stop', 'unpause', 'kill', 'remove'],
  stopping: ['kill'],
  stopped: ['start', 'restart', 'restore', 'remove'],
  exited: ['start', 'restart', 'restore', 'remove'],
  removing: [],
  unknown: ['remove']
};

/** The actions the engine accepts in `state` (an unknown state name allows only remove);
 * restore only where a checkpoint waits (`restorable`). */
export function allowedActions(state: string, restorable = false): Action[] {
  const allowed = BY_STATE[state] ?? BY_STATE.unknown;
  return ALL_ACTIONS.filter(a => allowed.includes(a) && (a !== 'restore' || restorable));
}

/** Actions that end or lose work: the sidebar asks before running them. */
export function isDestructive(action: Action): boolean {
  return ['stop', 'kill', 'restart', 'checkpoint', 'remove'].includes(action);
}

/** Whether a remove in this state needs `force` (the container's processes get killed). */
export function removeNeedsForce(state: string): boolean {
  return state === 'running' || state === 'paused' || state === 'stopping';
}

/** The question asked before a destructive action. */
export function confirmText(action: Action, c: IContainer): string {
  const name = c.name;
  switch (action) {
    case 'stop':
      return `Stop ${name}? Its processes get SIGTERM, then SIGKILL after the stop timeout.`;
    case 'kill':
      return `Kill ${name}? Its processes get SIGKILL at once.`;
    case 'restart':
      return `Restart ${name}? Its processes are stopped and started again.`;
    case 'checkpoint':
      return `Checkpoint ${name}? It is frozen to disk and stops; restore continues it.`;
    case 'remove':
      return removeNeedsForce(c.state)
        ? `Remove ${name}? It is ${c.state}: its processes are killed and its files deleted.`
        : `Remove ${name}? Its files are deleted.`;
    default:
      return `${action} ${name}?`;
  }
}

/** Anything: one element of the list endpoint's JSON. */
type Json = Record<string, unknown>;

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** A libpod list item -> a row. */
export function containerFromList(item: Json): IContainer {
  const names = Array.isArray(item.Names) ? (item.Names as unknown[]) : [];
  const command = Array.isArray(item.Command) ? (item.Command as unknown[]) : [];
  return {
    id: str(item.Id),
    name: str(names[0], str(item.Id).slice(0, 12)),
    image: str(item.Image),
    state: str(item.State, 'unknown'),
    startedAt: num(item.StartedAt),
    exitCode: num(item.ExitCode),
    command: command.map(x => String(x)),
    restorable: item.Restorable === true,
    lab: labOf(item.Labels)
  };
}

/** The label that puts a container in a lab. */
export const LAB_LABEL = 'jupyter-ctr.lab';

function labOf(labels: unknown): string | undefined {
  const value = labels && typeof labels === 'object' ? (labels as Json)[LAB_LABEL] : undefined;
  return typeof value === 'string' && value ? value : undefined;
}

/** A libpod stats element -> (id, figures). */
export function statsFromList(item: Json): [string, IStats] {
  return [
    str(item.ContainerID),
    { cpu: num(item.CPU), memUsage: num(item.MemUsage), memLimit: num(item.MemLimit) }
  ];
}

/** Docker's events message, as the events websocket sends it. */
export interface IEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** What an event did to the list. */
export interface IEventResult {
  /** The rows changed (repaint). */
  changed: boolean;
  /** The event names something the list cannot fill in alone (a new container, an image
   * change): fetch the list again. */
  refetch: boolean;
  /** Images changed (fetch the images list). */
  images: boolean;
}

const STATE_AFTER: Record<string, string> = {
  init: 'initialized',
  start: 'running',
  restart: 'running',
  restore: 'running',
  unpause: 'running',
  pause: 'paused',
  died: 'exited'
};

/** Events after which only the list can tell the row's truth: a checkpoint may have left the
 * container running, and whether a checkpoint is left to restore depends on the options. */
const REFETCH_AFTER = new Set(['checkpoint', 'restore']);

/**
 * Apply one engine event to `rows` (keyed by full id, changed in place). State changes are
 * applied at once so the badge follows the engine without a request; a container the list
 * does not know yet asks for a refetch.
 */
export function applyEvent(rows: Map<string, IContainer>, ev: IEvent): IEventResult {
  const none = { changed: false, refetch: false, images: false };
  const action = ev.Action ?? ev.status ?? '';
  const id = ev.Actor?.ID ?? ev.id ?? '';
  if (ev.Type === 'image') {
    return { ...none, images: true };
  }
  if (ev.Type !== 'container' || !id) {
    return none;
  }
  if (action === 'remove') {
    return { ...none, changed: rows.delete(id), images: true };
  }
  const row = rows.get(id);
  if (row === undefined) {
    // create, or any event of a container created before the list was read
    return { ...none, refetch: true, images: action === 'create' };
  }
  const refetch = REFETCH_AFTER.has(action);
  const next = STATE_AFTER[action];
  if (next === undefined) {
    return { ...none, refetch };
  }
  row.state = next;
  if (action === 'start' || action === 'restart' || action === 'restore') {
    row.startedAt = ev.time ?? Date.now() / 1000;
  }
  if (action === 'died') {
    const code = Number(ev.Actor?.Attributes?.exitCode);
    if (Number.isFinite(code)) {
      row.exitCode = code;
    }
  }
  return { ...none, changed: true, refetch };
}

/**
 * The rows after a list read: the listed ones, except where an event came after the list was
 * asked for (`touched`: container id -> when its last event was applied; `asked`: when the
 * request went out, on the same clock). Such an event knows better than the list: the row as
 * the event left it stays, and a container it removed stays removed. Without this, a list
 * that was on its way while a container stopped shows it running until its next event.
 * Drops the `touched` entries the list is newer than.
 */
export function mergeListed(
  rows: Map<string, IContainer>,
  listed: IContainer[],
  touched: Map<string, number>,
  asked: number
): Map<string, IContainer> {
  const next = new Map<string, IContainer>();
  for (const c of listed) {
    const when = touched.get(c.id);
    if (when !== undefined && when >= asked) {
      const cur = rows.get(c.id);
      if (cur !== undefined) {
        next.set(c.id, cur);
      }
      continue;
    }
    next.set(c.id, c);
  }
  for (const [id, when] of touched) {
    if (when < asked) {
      touched.delete(id);
    }
  }
  return next;
}

/** Seconds the container has been up, or null when it is not running. */
export function uptime(c: IContainer, nowSeconds: number): number | null {
  if ((c.state !== 'running' && c.state !== 'paused') || c.startedAt <= 0) {
    return null;
  }
  return Math.max(0, nowSeconds - c.startedAt);
}

/** Case-insensitive substring match on name, image, state and short id. */
export function matchesFilter(c: IContainer, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) {
    return true;
  }
  return [c.name, c.image, c.state, c.id.slice(0, 12)].some(s => s.toLowerCase().includes(f));
}

// -- the create dialog --------------------------------------------------------------------------

/** The create dialog's fields, as typed. */
export interface ICreateForm {
  image: string;
  command: string;
  name: string;
  tty: boolean;
  /** One KEY=VALUE a line. */
  env: string;
  /** "512m", "1g", "1048576" or empty. */
  memory: string;
  /** "1.5" or empty. */
  cpus: string;
  pidsLimit: string;
  /** no, always, on-failure, unless-stopped. */
  restartPolicy: string;
}

/** A form field the user must correct; the dialog shows `message`. */
export class FormError extends Error {}

/** Split a command line as a POSIX shell would for words: quotes and backslashes. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote === "'") {
      if (ch === "'") {
        quote = null;
      } else {
        cur += ch;
      }
    } else if (quote === '"') {
      if (ch === '"') {
        quote = null;
      } else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
        cur += line[++i];
      } else {
        cur += ch;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) {
        words.push(cur);
        cur = '';
        inWord = false;
      }
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote !== null) {
    throw new FormError(`command: unterminated ${quote} quote`);
  }
  if (inWord) {
    words.push(cur);
  }
  return words;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "512m" / "1g" / "1048576" -> bytes, as podman's --memory reads it. */
export function parseSize(text: string, field = 'memory'): number | null {
  const t = text.trim().toLowerCase();
  if (!t) {
    return null;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?$/.exec(t);
  if (!m) {
    throw new FormError(`${field}: "${text}" is not a size (e.g. 512m, 1g)`);
  }
  return Math.round(parseFloat(m[1]) * SIZE_UNITS[m[2]]);
}

function parsePositive(text: string, field: string, integer: boolean): number | null {
  const t = text.trim();
  if (!t) {
    return null;
  }
  const v = Number(t);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new FormError(`${field}: "${text}" is not a positive ${integer ? 'integer' : 'number'}`);
  }
  return v;
}

/** KEY=VALUE lines -> an object; blank lines are skipped. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) {
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) {
      throw new FormError(`environment: "${line}" is not KEY=VALUE`);
    }
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

const CPU_PERIOD = 100000;

/** The form -> libpod's SpecGenerator (`POST /libpod/containers/create`). */
export function createSpec(form: ICreateForm): Record<string, unknown> {
  const image = form.image.trim();
  if (!image) {
    throw new FormError('image: choose an image');
  }
  const spec: Record<string, unknown> = { image };
  const command = splitCommand(form.command);
  if (command.length) {
    spec.command = command;
  }
  if (form.name.trim()) {
    spec.name = form.name.trim();
  }
  if (form.tty) {
    spec.terminal = true;
    spec.stdin = true;
  }
  const env = parseEnv(form.env);
  if (Object.keys(env).length) {
    spec.env = env;
  }
  const limits: Record<string, unknown> = {};
  const memory = parseSize(form.memory);
  if (memory !== null) {
    limits.memory = { limit: memory };
  }
  const cpus = parsePositive(form.cpus, 'CPUs', false);
  if (cpus !== null) {
    limits.cpu = { quota: Math.round(cpus * CPU_PERIOD), period: CPU_PERIOD };
  }
  const pids = parsePositive(form.pidsLimit, 'pids limit', true);
  if (pids !== null) {
    limits.pids = { limit: pids };
  }
  if (Object.keys(limits).length) {
    spec.resource_limits = limits;
  }
  if (form.restartPolicy && form.restartPolicy !== 'no') {
    spec.restart_policy = form.restartPolicy;
  }
  return spec;
}

// -- requests ---------------------------------------------------------------------------------

/** Query parameters; an array repeats the key (`containers=a&containers=b`, as libpod reads
 * lists); undefined values are left out. */
export type Query = Record<string, string | number | boolean | string[] | undefined>;

/** Above this many IDs a stats request names none: it asks for every running container the
 * user may see and keeps the wanted ones (`statsRequest`). A URL naming 1,000 IDs would be
 * ~76 KB, past the server's limit on a request's head. */
export const STATS_NAMED_MAX = 32;

/** The query of one stats request for `ids`, and which answers to keep (null: all). */
export function statsRequest(ids: string[]): { query: Query; keep: Set<string> | null } {
  if (ids.length > STATS_NAMED_MAX) {
    return { query: { stream: false }, keep: new Set(ids) };
  }
  return { query: { stream: false, containers: ids }, keep: null };
}

/** `?k=v&...`, or '' when there is nothing to send. */
export function queryString(query: Query): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) {
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.length ? '?' + parts.join('&') : '';
}

// -- errors -------------------------------------------------------------------------------------

/** The message to show for a failed request: the server's `message` (libpod and Docker error
 * bodies), else its text, else the HTTP status. */
export function errorMessage(status: number, statusText: string, body: string): string {
  const text = body.trim();
  if (text) {
    try {
      const data = JSON.parse(text) as Json;
      const msg = data.message ?? data.cause;
      if (typeof msg === 'string' && msg) {
        return msg;
      }
    } catch {
      // not JSON: the text itself (a proxy's page, a plain-text error)
    }
    return text.length > 500 ? text.slice(0, 500) + '…' : text;
  }
  return `HTTP ${status}${statusText ? ' ' + statusText : ''}`;
}
