/** Human-readable figures for the sidebar: sizes, durations, CPU share. Pure functions. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; one decimal below 10 of a unit, none above. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) {
    return '-';
  }
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) {
    return `${v} B`;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v).toString()} ${UNITS[i]}`;
}

/** Seconds -> "45s", "3m 20s", "2h 5m", "3d 4h" (two units at most, as `ps` does). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '-';
  }
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) {
    return `${d}d ${h}h`;
  }
  if (h > 0) {
    return `${h}h ${m}m`;
  }
  if (m > 0) {
    return `${m}m ${s % 60}s`;
  }
  return `${s}s`;
}

/** A CPU percentage (100 = one core) -> "12.5%"; "-" when unknown. */
export function formatPercent(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) {
    return '-';
  }
  return `${p < 10 ? p.toFixed(1) : Math.round(p).toString()}%`;
}
