/**
 * The notebook widgets' pure logic (node --test covers it): the terminal's status as the
 * Python side mirrors it, and the geometry of sparklines and plots.
 */

/** What the Python `Terminal.status` trait says. */
export type TerminalPhase = 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'detached' | 'exited' | 'error';

/**
 * The phase of a terminal from what its bar shows: `status` is the bar's text ('' while
 * nothing is wrong), `open` whether the websocket is open, `ended` whether the session ended.
 */
export function terminalPhase(status: string, open: boolean, ended: boolean): TerminalPhase {
  if (ended) {
    return 'exited';
  }
  if (status === '') {
    return open ? 'connected' : 'connecting';
  }
  if (status === 'detached') {
    return 'detached';
  }
  if (status.startsWith('starting')) {
    return 'connecting';
  }
  if (status.includes('reconnecting')) {
    return 'reconnecting';
  }
  return 'error';
}

/** A round upper bound for a plot's axis: 1, 2, 5 x 10^n at or above `max` (min `floor`). */
export function niceMax(max: number, floor = 1): number {
  const m = Math.max(max, floor);
  if (!Number.isFinite(m) || m <= 0) {
    return floor > 0 ? floor : 1;
  }
  const p = 10 ** Math.floor(Math.log10(m));
  for (const k of [1, 2, 5, 10]) {
    if (k * p >= m) {
      return k * p;
    }
  }
  return 10 * p;
}

/**
 * The `points` of an SVG polyline drawing `values` (oldest first) across `width` x `height`,
 * right-aligned to `slots` positions (so a short history grows in from the right), scaled so
 * `max` is the top. Empty when there is nothing to draw.
 */
export function polylinePoints(values: readonly number[], width: number, height: number, max: number, slots = values.length): string {
  const n = Math.min(values.length, Math.max(slots, 1));
  if (n === 0 || width <= 0 || height <= 0) {
    return '';
  }
  const shown = values.slice(values.length - n);
  const step = slots > 1 ? width / (slots - 1) : 0;
  const top = max > 0 ? max : 1;
  const x0 = width - step * (n - 1);
  return shown
    .map((v, i) => {
      const y = height - (Math.max(0, Math.min(v, top)) / top) * height;
      return `${round(x0 + step * i)},${round(y)}`;
    })
    .join(' ');
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
