/**
 * The log view's memory bound: a ring of at most `capacity` lines. When full, the oldest
 * lines go and `dropped` counts them, so the view can say so (the download fetches
 * everything again from the server). Indexes are 0..length-1, oldest kept line first.
 */
export class LogBuffer<T> {
  private ring: (T | undefined)[];
  private start = 0;
  private size = 0;
  /** Lines dropped from the front since the buffer was created or cleared. */
  dropped = 0;
  /** Lines ever appended (dropped + length). */
  total = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) {
      throw new Error('LogBuffer capacity must be positive');
    }
    this.ring = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  append(items: readonly T[]): void {
    // Only the last `capacity` of a huge batch can stay: skip the rest without copying.
    const skip = Math.max(0, items.length - this.capacity);
    this.total += items.length;
    this.dropped += skip;
    for (let i = skip; i < items.length; i++) {
      if (this.size < this.capacity) {
        this.ring[(this.start + this.size) % this.capacity] = items[i];
        this.size += 1;
      } else {
        this.ring[this.start] = items[i];
        this.start = (this.start + 1) % this.capacity;
        this.dropped += 1;
      }
    }
  }

  get(index: number): T {
    if (index < 0 || index >= this.size) {
      throw new RangeError(`line ${index} not in 0..${this.size - 1}`);
    }
    return this.ring[(this.start + index) % this.capacity] as T;
  }

  /** Index of the first kept line at or after `from` (wrapping once) that `match`es, or -1. */
  find(match: (item: T) => boolean, from = 0, backwards = false): number {
    const n = this.size;
    for (let k = 0; k < n; k++) {
      const i = backwards ? (((from - k) % n) + n) % n : (from + k) % n;
      if (match(this.get(i))) {
        return i;
      }
    }
    return -1;
  }

  /** Indexes of the kept lines that `match`, oldest first. */
  filter(match: (item: T) => boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) {
      if (match(this.get(i))) {
        out.push(i);
      }
    }
    return out;
  }

  clear(): void {
    this.ring = new Array<T | undefined>(this.capacity);
    this.start = 0;
    this.size = 0;
    this.dropped = 0;
    this.total = 0;
  }
}
