/**
 * The logs endpoint's body (libpod flavour: Docker's multiplexed stream, an 8-byte header
 * `[stream, 0, 0, 0, size (big-endian u32)]` before each payload) turned into lines, each
 * with its stream and, when asked with `timestamps=1`, its RFC 3339 timestamp. Framework-free.
 */

export const STDOUT = 1;
export const STDERR = 2;

export interface LogLine {
  stream: number;
  /** RFC 3339 timestamp ('' when the request had none). */
  time: string;
  text: string;
}

/** Reassembles frames from chunks cut anywhere. */
export class MuxParser {
  private buf = new Uint8Array(0);

  /** The complete frames in `chunk` (with what was left over from before). */
  push(chunk: Uint8Array): { stream: number; data: Uint8Array }[] {
    let buf: Uint8Array;
    if (this.buf.length) {
      buf = new Uint8Array(this.buf.length + chunk.length);
      buf.set(this.buf);
      buf.set(chunk, this.buf.length);
    } else {
      buf = chunk;
    }
    const out: { stream: number; data: Uint8Array }[] = [];
    let pos = 0;
    while (buf.length - pos >= 8) {
      const size = ((buf[pos + 4] << 24) >>> 0) + (buf[pos + 5] << 16) + (buf[pos + 6] << 8) + buf[pos + 7];
      if (buf.length - pos - 8 < size) {
        break;
      }
      out.push({ stream: buf[pos], data: buf.subarray(pos + 8, pos + 8 + size) });
      pos += 8 + size;
    }
    this.buf = buf.slice(pos);
    return out;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buf.length;
  }
}

/**
 * Splits each stream's bytes into lines (UTF-8 decoded incrementally, a character cut by a
 * frame boundary arrives whole); `timestamps` splits the leading timestamp off each line.
 */
export class LineSplitter {
  private readonly decoders = new Map<number, TextDecoder>();
  private readonly partial = new Map<number, string>();

  constructor(readonly timestamps: boolean) {}

  push(stream: number, data: Uint8Array): LogLine[] {
    let dec = this.decoders.get(stream);
    if (!dec) {
      dec = new TextDecoder('utf-8');
      this.decoders.set(stream, dec);
    }
    const text = (this.partial.get(stream) ?? '') + dec.decode(data, { stream: true });
    const parts = text.split('\n');
    this.partial.set(stream, parts.pop() ?? '');
    return parts.map(p => this.line(stream, p));
  }

  /** The end of the body: unterminated last lines. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const [stream, rest] of this.partial) {
      if (rest) {
        out.push(this.line(stream, rest));
      }
    }
    this.partial.clear();
    return out;
  }

  private line(stream: number, raw: string): LogLine {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!this.timestamps) {
      return { stream, time: '', text };
    }
    const sp = text.indexOf(' ');
    return sp < 0 ? { stream, time: text, text: '' } : { stream, time: text.slice(0, sp), text: text.slice(sp + 1) };
  }
}

/**
 * Neighbouring frames of the same stream joined into one payload (copied once): the logs
 * endpoint sends one frame per line, and decoding a million tiny views one by one leaves
 * the browser's garbage collector a wrapper per view (pauses of 150 ms and more).
 */
export function joinRuns(frames: { stream: number; data: Uint8Array }[]): { stream: number; data: Uint8Array }[] {
  const out: { stream: number; data: Uint8Array }[] = [];
  let i = 0;
  while (i < frames.length) {
    const stream = frames[i].stream;
    let j = i;
    let size = 0;
    while (j < frames.length && frames[j].stream === stream) {
      size += frames[j].data.length;
      j++;
    }
    if (j - i === 1) {
      out.push(frames[i]);
    } else {
      const data = new Uint8Array(size);
      let at = 0;
      for (let k = i; k < j; k++) {
        data.set(frames[k].data, at);
        at += frames[k].data.length;
      }
      out.push({ stream, data });
    }
    i = j;
  }
  return out;
}

/** The payload bytes of a multiplexed body, both streams in order (for the download). */
export function deframe(parser: MuxParser, chunk: Uint8Array): Uint8Array[] {
  return parser.push(chunk).map(f => f.data);
}
