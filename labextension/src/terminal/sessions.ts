/**
 * Recording and shadowing on the exec/attach websocket (docs/websocket-protocol.md): the
 * server's `["session", {...}]` state, the client's `record`/`take_over`/`release` messages,
 * and what a terminal tab shows for them (the REC badge, the "teacher is watching" banner,
 * the Record and Take over buttons). Nothing here touches the DOM, so node --test covers it.
 */

export type SessionRole = 'owner' | 'watching' | 'typing';

export interface IViewer {
  user: string;
  role: 'watching' | 'typing';
}

/** The server's `session` message: who is on this bridge session, and its recording. */
export interface ISessionState {
  recording: boolean;
  /** Policy requires recording (the lab is in `record_labs`): it cannot be stopped. */
  required: boolean;
  recordingId: string | null;
  /** This client's role. */
  role: SessionRole;
  /** The other clients that joined with `?shadow=1`. */
  viewers: IViewer[];
}

/** The hint shown when a read-only viewer types. */
export const READ_ONLY_HINT = 'read-only: press "Take over" to type';

function role(v: unknown, fallback: SessionRole): SessionRole {
  return v === 'owner' || v === 'watching' || v === 'typing' ? v : fallback;
}

/** The argument of a `session` message, or null when it is not one. */
export function decodeSession(arg: unknown): ISessionState | null {
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) {
    return null;
  }
  const o = arg as Record<string, unknown>;
  const viewers: IViewer[] = [];
  if (Array.isArray(o.viewers)) {
    for (const v of o.viewers as unknown[]) {
      if (typeof v === 'object' && v !== null) {
        const r = v as Record<string, unknown>;
        viewers.push({ user: typeof r.user === 'string' ? r.user : '?', role: r.role === 'typing' ? 'typing' : 'watching' });
      }
    }
  }
  return {
    recording: o.recording === true,
    required: o.required === true,
    recordingId: typeof o.recording_id === 'string' && o.recording_id ? o.recording_id : null,
    role: role(o.role, 'owner'),
    viewers
  };
}

export function recordMessage(on: boolean): string {
  return JSON.stringify(['record', on]);
}

export function takeOverMessage(): string {
  return JSON.stringify(['take_over']);
}

export function releaseMessage(): string {
  return JSON.stringify(['release']);
}

/** Whether this client's keys may go to the process (a watcher's are refused). */
export function canType(state: ISessionState | null, shadow: boolean): boolean {
  return state ? state.role !== 'watching' : !shadow;
}

/** Whether this client may resize the tty: only the owner (a viewer has its own panel). */
export function canResize(state: ISessionState | null, shadow: boolean): boolean {
  return state ? state.role === 'owner' : !shadow;
}

/** A user as shown: a single-user server's anonymous identity (a random hex id, no name)
 * reads as "someone in another page". */
export function displayUser(user: string): string {
  return /^[0-9a-f]{32}$/.test(user) ? 'someone in another page' : user;
}

/** `a`, `a and b`, `a, b and c`. */
export function listNames(names: string[]): string {
  const unique = [...new Set(names.map(displayUser))];
  if (unique.length <= 1) {
    return unique[0] ?? '';
  }
  return `${unique.slice(0, -1).join(', ')} and ${unique[unique.length - 1]}`;
}

/** The REC badge: shown while recording, its tooltip says why and whether it can stop. */
export function recordBadge(state: ISessionState | null): { shown: boolean; tooltip: string } {
  if (!state?.recording) {
    return { shown: false, tooltip: '' };
  }
  const id = state.recordingId ? ` (recording ${state.recordingId})` : '';
  const why = state.required
    ? 'Recording is required for this lab: everything shown here is saved'
    : 'This terminal is being recorded: everything shown here is saved';
  return { shown: true, tooltip: `${why}${id}.` };
}

/**
 * The banner over the terminal: for the owner, who is watching or typing in it; for a
 * viewer, that the view is read-only (or that its keys now reach the terminal). Empty: none.
 */
export function sessionBanner(state: ISessionState | null, shadow: boolean): { text: string; level: 'info' | 'warn' | '' } {
  if (!state) {
    return shadow ? { text: 'Joining the session read-only…', level: 'info' } : { text: '', level: '' };
  }
  const others = (r: 'watching' | 'typing'): string[] => state.viewers.filter(v => v.role === r).map(v => v.user);
  const typing = others('typing');
  const watching = others('watching');
  if (state.role === 'watching') {
    return { text: 'Watching read-only: what you type is not sent. Press "Take over" to type.', level: 'info' };
  }
  if (state.role === 'typing') {
    return { text: 'You took over: your keys reach this terminal (the owner can type too). "Release" ends it.', level: 'warn' };
  }
  if (typing.length) {
    const n = new Set(typing.map(displayUser)).size;
    return { text: `${listNames(typing)} ${n > 1 ? 'are' : 'is'} typing in this terminal`, level: 'warn' };
  }
  if (watching.length) {
    const n = new Set(watching.map(displayUser)).size;
    return { text: `${listNames(watching)} ${n > 1 ? 'are' : 'is'} watching this terminal`, level: 'info' };
  }
  return { text: '', level: '' };
}

/** The Record / Stop recording button: hidden for a read-only viewer; stopping is disabled,
 * with the reason as its tooltip, when policy requires recording. */
export function recordButton(state: ISessionState | null): { shown: boolean; label: string; enabled: boolean; title: string; on: boolean } {
  if (!state || state.role === 'watching') {
    return { shown: false, label: 'Record', enabled: false, title: '', on: false };
  }
  if (state.recording) {
    return state.required
      ? { shown: true, label: 'Stop recording', enabled: false, title: 'Recording is required for this lab: it cannot be stopped', on: false }
      : { shown: true, label: 'Stop recording', enabled: true, title: 'Stop recording this terminal (the recording made so far is kept)', on: false };
  }
  return { shown: true, label: 'Record', enabled: true, title: 'Record this terminal (asciicast v2; play it back with the Player widget)', on: true };
}

/** The shadow button of a viewer: "Take over" while watching, "Release" while typing. */
export function shadowButton(state: ISessionState | null, shadow: boolean): { label: string; message: string } | null {
  if (!shadow) {
    return null;
  }
  if (state?.role === 'typing') {
    return { label: 'Release', message: releaseMessage() };
  }
  return { label: 'Take over', message: takeOverMessage() };
}

// -- live sessions (GET /ctr/api/sessions) ------------------------------------------------
/** A row of GET /ctr/api/sessions. */
export interface ILiveSession {
  Key: string;
  Container: string;
  ContainerName: string;
  ExecID: string | null;
  Owner: string;
  Clients: number;
  Viewers: number;
  Recording: boolean;
  RecordingID: string | null;
}

/** What a watch tab connects to, from a live session. */
export interface IWatchTarget {
  container: string;
  execId: string | null;
  label: string;
}

export function watchTarget(s: Partial<ILiveSession>): IWatchTarget {
  const container = s.ContainerName || s.Container || '';
  const execId = s.ExecID || null;
  const what = execId ? `shell ${execId.slice(0, 12)}` : 'main process';
  const extra = [s.Owner ? `of ${s.Owner}` : '', s.Recording ? 'recording' : '',
    s.Viewers ? `${s.Viewers} watching` : ''].filter(Boolean);
  return { container, execId, label: `${container}: ${what}${extra.length ? ` (${extra.join(', ')})` : ''}` };
}

/** The sessions a watch of `name` may join: that container's (by name or id), exec first. */
export function sessionsOf(list: Partial<ILiveSession>[], name: string): IWatchTarget[] {
  return list
    .filter(s => !name || s.ContainerName === name || s.Container === name)
    .map(watchTarget)
    .sort((a, b) => Number(!a.execId) - Number(!b.execId));
}
