/**
 * The checkpoint timeline's pure logic (node --test covers it), shared by the notebook
 * widget (src/widgets/timelineview.ts) and the sidebar's Timeline tab (./panel.ts): a
 * snapshot as shown, the current position from the engine's events, step names.
 * The Python twin is jupyter_ctr/widgets/timeline.py: keep the two in step.
 */

/** One step as the views show it (jupyter_ctr/widgets/timeline.py step_of). */
export interface IStep {
  name: string;
  /** 'checkpoint' | 'filesystem' */
  kind: string;
  /** 'checkpoint' | 'filesystem only' */
  label: string;
  /** Seconds since the epoch. */
  created: number;
  /** Bytes on disk. */
  size: number;
  /** Why it is filesystem-only (CRIU's complaint), '' for a checkpoint. */
  reason: string;
}

/** The container events that change a timeline (attribute `step`). */
export const TIMELINE_EVENTS: readonly string[] = ['snapshot', 'rewind', 'snapshot_remove'];
/** Events whose step becomes the current position. */
const POSITION_EVENTS = new Set(['snapshot', 'rewind']);

const KIND_LABELS: Record<string, string> = { checkpoint: 'checkpoint', filesystem: 'filesystem only' };

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/** A REST snapshot object `{"Name","Kind","Created"(RFC 3339),"Size","Reason"}` as a step. */
export function stepFromApi(item: Record<string, unknown>): IStep {
  const kind = typeof item.Kind === 'string' ? item.Kind : '';
  const created = typeof item.Created === 'string' ? Date.parse(item.Created) / 1000 : Number(item.Created ?? 0);
  return {
    name: typeof item.Name === 'string' ? item.Name : '',
    kind,
    label: kindLabel(kind),
    created: Number.isFinite(created) ? created : 0,
    size: Number(item.Size ?? 0),
    reason: typeof item.Reason === 'string' ? item.Reason : ''
  };
}

/** The current step after an event of the timeline's container with action `action` and
 * attribute `step`: a snapshot's or rewind's step; none once that step is removed. */
export function positionAfter(current: string, action: string, step: string | undefined): string {
  if (POSITION_EVENTS.has(action) && step) {
    return step;
  }
  if (action === 'snapshot_remove' && step === current) {
    return '';
  }
  return current;
}

/** The current step once the known steps are `names` (oldest first): `current` if it is
 * still there, else (nothing known) the newest step. */
export function settlePosition(current: string, names: readonly string[], known: boolean): string {
  if (names.includes(current)) {
    return current;
  }
  return known ? '' : (names[names.length - 1] ?? '');
}

/** A name for the next snapshot: `step-N` past the highest `step-<number>` taken. */
export function nextStep(names: readonly string[]): string {
  let top = 0;
  for (const name of names) {
    const m = /^step-(\d+)$/.exec(name);
    if (m) {
      top = Math.max(top, Number(m[1]));
    }
  }
  return `step-${top + 1}`;
}

/** What is wrong with a step name (the engine's rule, engine/timeline.py check_step), or ''
 * when it is fine. */
export function stepProblem(name: string): string {
  if (!name) {
    return 'give the step a name';
  }
  if (name.length > 128) {
    return 'a step name has at most 128 characters';
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    return 'use letters, digits and _ . - (starting with a letter or digit)';
  }
  return '';
}

/** The first line of a reason (CRIU's cause; the rest is its log), for a note line. */
export function reasonSummary(reason: string): string {
  return reason.split('\n', 1)[0].trim();
}

/** "2026-11-30 13:02:05" in local time (seconds since the epoch in). */
export function formatTime(seconds: number): string {
  if (!seconds) {
    return '-';
  }
  const d = new Date(seconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The events websocket's query for one container's timeline and state (its past events
 * since `since` first: they tell the current position). */
export function timelineEventFilters(id: string): string {
  return JSON.stringify({ container: [id] });
}
