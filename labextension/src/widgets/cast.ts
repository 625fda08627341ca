/**
 * asciicast v2 (the asciinema recording format: a JSON header line, then one
 * `[time, code, data]` event per line) parsed for the Player widget, and the player's clock:
 * which events to write at a given time, and how a seek is done (backwards: reset the screen
 * and replay from the start in one write; forwards: write what lies between). Pure: node
 * --test covers it.
 */

export interface ICastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp?: number;
  title?: string;
}

/** One event: `o` output, `i` input, `r` resize ("COLSxROWS"), `m` marker. */
export interface ICastEvent {
  time: number;
  code: string;
  data: string;
}

export interface ICast {
  header: ICastHeader;
  events: ICastEvent[];
  /** The time of the last event (seconds). */
  duration: number;
}

/** Parses a cast; throws an Error naming the line and the problem. */
export function parseCast(text: string): ICast {
  const lines = text.split('\n');
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    throw new Error('not an asciicast: line 1 is not a JSON header');
  }
  const h = header as Record<string, unknown>;
  if (typeof h !== 'object' || h === null || h.version !== 2) {
    throw new Error(`not an asciicast v2: the header's version is ${JSON.stringify(h?.version)}`);
  }
  const width = Number(h.width);
  const height = Number(h.height);
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error('asciicast header: width and height must be positive integers');
  }
  const events: ICastEvent[] = [];
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) {
      continue;
    }
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw new Error(`asciicast line ${i + 1}: not JSON`);
    }
    if (!Array.isArray(ev) || ev.length < 3 || typeof ev[0] !== 'number' || typeof ev[1] !== 'string' || typeof ev[2] !== 'string') {
      throw new Error(`asciicast line ${i + 1}: an event is [time, code, data]`);
    }
    // a recorder's clock can step back a hair: keep the order, never go back in time
    last = Math.max(last, ev[0]);
    events.push({ time: last, code: ev[1], data: ev[2] });
  }
  const head: ICastHeader = { version: 2, width, height };
  if (typeof h.timestamp === 'number') {
    head.timestamp = h.timestamp;
  }
  if (typeof h.title === 'string') {
    head.title = h.title;
  }
  return { header: head, events, duration: last };
}

/** A resize event's size, or null when its data is not `COLSxROWS`. */
export function parseResize(data: string): { cols: number; rows: number } | null {
  const m = /^(\d+)x(\d+)$/.exec(data.trim());
  if (!m) {
    return null;
  }
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  return cols > 0 && rows > 0 ? { cols, rows } : null;
}

/** The number of events at or before `time` (binary search: events are in time order). */
export function eventsUntil(events: readonly ICastEvent[], time: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid].time <= time) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** What the screen must do to show the cast at a time: optionally reset (to the header's
 * size), then apply these events ("o": write, "r": resize; others are not shown). */
export interface IStep {
  reset: boolean;
  events: ICastEvent[];
}

/** Consecutive "o" events joined, so a seek is one write per resize (fast). */
export function coalesce(events: readonly ICastEvent[]): ICastEvent[] {
  const out: ICastEvent[] = [];
  for (const ev of events) {
    if (ev.code !== 'o' && ev.code !== 'r') {
      continue;
    }
    const prev = out[out.length - 1];
    if (ev.code === 'o' && prev?.code === 'o') {
      prev.data += ev.data;
      prev.time = ev.time;
    } else {
      out.push({ ...ev });
    }
  }
  return out;
}

/**
 * The player's clock: the position (seconds of the cast), playing or paused, the speed.
 * `advance(now)` moves a playing clock to the wall time `now` (ms) and returns what to
 * draw; `seek(t)` returns what to draw to show time `t`. The clock is given the time, so
 * tests need no timers.
 */
export class PlayerClock {
  position = 0;
  playing = false;
  private shown = 0; // events already drawn
  private wall = 0; // the wall time of the last advance while playing

  constructor(
    readonly cast: ICast,
    public speed = 1
  ) {}

  get ended(): boolean {
    return this.position >= this.cast.duration;
  }

  /** Start (from the start again if it had ended) at wall time `now`. */
  play(now: number): IStep {
    let step: IStep = { reset: false, events: [] };
    if (this.ended) {
      step = this.seek(0);
    }
    this.playing = true;
    this.wall = now;
    return step;
  }

  pause(now: number): IStep {
    const step = this.advance(now);
    this.playing = false;
    return step;
  }

  setSpeed(speed: number, now: number): IStep {
    const step = this.advance(now);
    this.speed = speed;
    return step;
  }

  advance(now: number): IStep {
    if (!this.playing) {
      return { reset: false, events: [] };
    }
    const target = Math.min(this.cast.duration, this.position + ((now - this.wall) / 1000) * this.speed);
    this.wall = now;
    const step = this.moveTo(target);
    if (this.ended) {
      this.playing = false;
    }
    return step;
  }

  /** Jump to `time` (clamped to the cast). */
  seek(time: number): IStep {
    return this.moveTo(Math.max(0, Math.min(this.cast.duration, time)));
  }

  /** Milliseconds of wall time until the next event is due (null: none left). */
  nextDueMs(): number | null {
    const next = this.cast.events[this.shown];
    if (!next) {
      return null;
    }
    return Math.max(0, ((next.time - this.position) * 1000) / this.speed);
  }

  private moveTo(time: number): IStep {
    const upto = eventsUntil(this.cast.events, time);
    let step: IStep;
    if (upto >= this.shown) {
      step = { reset: false, events: coalesce(this.cast.events.slice(this.shown, upto)) };
    } else {
      step = { reset: true, events: coalesce(this.cast.events.slice(0, upto)) };
    }
    this.shown = upto;
    this.position = time;
    return step;
  }
}

/** `m:ss` (or `h:mm:ss`) of a time in seconds. */
export function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The download's file name: the title (or the id), made safe, with `.cast`. */
export function downloadName(title: string, id: string): string {
  const base = (title || id || 'recording').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80);
  return `${base || 'recording'}.cast`;
}

/** The speeds offered. */
export const SPEEDS = [0.5, 1, 1.5, 2, 3, 4];
