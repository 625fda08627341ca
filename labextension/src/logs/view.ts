/**
 * A container's log in a main-area tab: streamed from the logs endpoint (follow, with
 * timestamps), kept in a bounded buffer (the oldest lines go, with a note), drawn as a
 * virtual list (only the visible rows exist in the DOM), so a container printing a million
 * lines leaves the page responsive. The download fetches the whole log again.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { CtrApiError, CtrClient } from '../api';
import { pageHook } from '../terminal/hook';
import { LogBuffer } from './buffer';
import { joinRuns, LineSplitter, LogLine, MuxParser, STDERR } from './frames';

const LIBPOD = 'v4.0.0/libpod';
let counter = 0;
/** Bytes of log stream parsed per task (about 3,000 timestamped lines). */
const SLICE = 128 * 1024;

function nextTask(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text) {
    e.textContent = text;
  }
  return e;
}

function checkbox(label: string, checked: boolean, title: string): [HTMLLabelElement, HTMLInputElement] {
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = checked;
  const l = el('label', 'jp-ctr-logs-toggle');
  l.title = title;
  l.append(box, document.createTextNode(label));
  return [l, box];
}

export class LogView extends Widget {
  private readonly buffer: LogBuffer<LogLine>;
  private readonly viewport: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly rows: HTMLDivElement;
  private readonly note: HTMLDivElement;
  private readonly statusNode: HTMLSpanElement;
  private readonly follow: HTMLInputElement;
  private readonly timestamps: HTMLInputElement;
  private readonly streamSel: HTMLSelectElement;
  private readonly findInput: HTMLInputElement;
  private readonly findCount: HTMLSpanElement;
  private abort: AbortController | null = null;
  private frame = 0;
  private rowHeight = 17;
  /** Index into the buffer of the current search match, as an absolute line number. */
  private matchSeq = -1;
  /** Indexes shown when a stream filter is on (null: every line). */
  private view: number[] | null = null;
  private viewStale = true;
  private truncatedAtStart = false;
  private statusText = '';
  private programmaticScroll = false;
  readonly hookId = `l${++counter}`;
  /** The id of the main-area panel around this widget (the tab). */
  readonly panelId: string;

  constructor(
    private readonly client: CtrClient,
    readonly container: string,
    readonly maxLines: number
  ) {
    super();
    this.buffer = new LogBuffer<LogLine>(maxLines);
    this.addClass('jp-ctr-logs');
    this.panelId = `jupyter-ctr-logs-${this.hookId}-${Date.now().toString(36)}`;
    this.id = `${this.panelId}-content`;
    this.title.label = `Logs: ${container.length === 64 ? container.slice(0, 12) : container}`;
    this.title.caption = `Log of container ${container}`;
    this.title.closable = true;

    const bar = el('div', 'jp-ctr-logs-bar');
    let followLabel: HTMLLabelElement, tsLabel: HTMLLabelElement;
    [followLabel, this.follow] = checkbox('Follow', true, 'Keep the newest line in view');
    [tsLabel, this.timestamps] = checkbox('Timestamps', false, 'Show each line’s time');
    this.follow.addEventListener('change', () => this.follow.checked && this.scheduleRender());
    this.timestamps.addEventListener('change', () => this.scheduleRender());
    this.streamSel = el('select', 'jp-mod-styled jp-ctr-logs-streams');
    for (const [v, t] of [
      ['all', 'stdout + stderr'],
      ['1', 'stdout'],
      ['2', 'stderr']
    ]) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = t;
      this.streamSel.append(o);
    }
    this.streamSel.addEventListener('change', () => {
      this.viewStale = true;
      this.scheduleRender();
    });
    this.findInput = el('input', 'jp-mod-styled jp-ctr-logs-find');
    this.findInput.placeholder = 'Search';
    this.findInput.title = 'Enter: next match, Shift+Enter: previous';
    this.findInput.addEventListener('keydown', ev => {
      ev.stopPropagation();
      if (ev.key === 'Enter') {
        this.findNext(ev.shiftKey);
      }
    });
    this.findInput.addEventListener('input', () => {
      this.matchSeq = -1;
      this.findCount.textContent = '';
      this.scheduleRender();
    });
    this.findCount = el('span', 'jp-ctr-logs-count');
    const download = el('button', 'jp-mod-styled jp-ctr-logs-download', 'Download');
    download.title = 'The whole log, fetched from the server';
    download.addEventListener('click', () => void this.download());
    const reload = el('button', 'jp-mod-styled jp-ctr-logs-reload', 'Reload');
    reload.addEventListener('click', () => this.reload());
    this.statusNode = el('span', 'jp-ctr-logs-status');
    bar.append(followLabel, tsLabel, this.streamSel, this.findInput, this.findCount, download, reload, this.statusNode);

    this.note = el('div', 'jp-ctr-logs-note');
    this.note.hidden = true;
    this.viewport = el('div', 'jp-ctr-logs-viewport');
    this.spacer = el('div', 'jp-ctr-logs-spacer');
    this.rows = el('div', 'jp-ctr-logs-rows');
    this.viewport.append(this.spacer, this.rows);
    this.viewport.addEventListener('scroll', () => this.scrolled());
    this.node.append(bar, this.note, this.viewport);

    pageHook().logs.set(this.hookId, {
      id: this.panelId,
      container,
      lines: () => this.buffer.length,
      dropped: () => this.buffer.dropped,
      line: i => this.buffer.get(i).text,
      status: () => this.statusText
    });
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    pageHook().logs.delete(this.hookId);
    this.abort?.abort();
    cancelAnimationFrame(this.frame);
    super.dispose();
  }

  reload(): void {
    this.abort?.abort();
    this.buffer.clear();
    this.truncatedAtStart = false;
    this.matchSeq = -1;
    this.viewStale = true;
    void this.stream();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this.abort) {
      void this.stream();
    }
    this.scheduleRender();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.scheduleRender();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.scheduleRender();
  }

  // -- streaming ----------------------------------------------------------------------------
  private async stream(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    this.setStatus('loading…');
    const path = `${LIBPOD}/containers/${encodeURIComponent(this.container)}/logs`;
    let first = true;
    try {
      // Only the newest `maxLines` are wanted in the page: the server skips the rest.
      const response = await this.client.request(
        path,
        { signal: abort.signal },
        { stdout: true, stderr: true, follow: true, timestamps: true, tail: this.maxLines }
      );
      const reader = response.body?.getReader();
      if (!reader) {
        throw new Error('the browser gave no body stream');
      }
      const parser = new MuxParser();
      const lines = new LineSplitter(true);
      this.setStatus('following');
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        // A page that fell behind gets one big chunk: take it in slices, letting the page
        // paint and answer between them (no task much over a frame's worth of parsing).
        for (let off = 0; off < value.length; off += SLICE) {
          if (off) {
            await nextTask();
            if (this.abort !== abort) {
              return;
            }
          }
          const batch: LogLine[] = [];
          for (const f of joinRuns(parser.push(value.subarray(off, off + SLICE)))) {
            for (const line of lines.push(f.stream, f.data)) {
              batch.push(line);
            }
          }
          this.add(batch, first);
          first = false;
        }
      }
      this.add(lines.flush(), false);
      if (this.abort === abort) {
        this.setStatus('end of log (the container is not running)');
      }
    } catch (err) {
      if (abort.signal.aborted) {
        return;
      }
      this.setStatus(err instanceof CtrApiError ? err.message : `stream lost: ${String(err)}`);
    }
  }

  private add(batch: LogLine[], _first: boolean): void {
    if (!batch.length) {
      return;
    }
    this.buffer.append(batch);
    if (this.buffer.total >= this.maxLines && this.buffer.dropped === 0) {
      this.truncatedAtStart = true; // the tail may have left older lines on the server
    }
    this.viewStale = true;
    this.scheduleRender();
  }

  // -- rendering ----------------------------------------------------------------------------
  private scheduleRender(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  private visibleIndexes(): number[] | null {
    const sel = this.streamSel.value;
    if (sel === 'all') {
      return null;
    }
    if (this.viewStale || !this.view) {
      const stream = Number(sel);
      this.view = this.buffer.filter(l => (stream === STDERR ? l.stream === STDERR : l.stream !== STDERR));
      this.viewStale = false;
    }
    return this.view;
  }

  private render(): void {
    if (!this.isVisible) {
      return;
    }
    const view = this.visibleIndexes();
    const count = view ? view.length : this.buffer.length;
    this.spacer.style.height = `${count * this.rowHeight}px`;
    if (this.follow.checked) {
      this.programmaticScroll = true;
      this.viewport.scrollTop = this.viewport.scrollHeight;
    }
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / this.rowHeight));
    const n = Math.min(count - first, Math.ceil(height / this.rowHeight) + 2);
    this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
    while (this.rows.childElementCount > Math.max(0, n)) {
      this.rows.lastElementChild?.remove();
    }
    while (this.rows.childElementCount < n) {
      const row = el('div', 'jp-ctr-logs-line');
      row.append(el('span', 'jp-ctr-logs-time'), el('span', 'jp-ctr-logs-text'));
      this.rows.append(row);
    }
    const ts = this.timestamps.checked;
    const needle = this.findInput.value.toLowerCase();
    const matchIdx = this.matchSeq - this.buffer.dropped;
    for (let k = 0; k < n; k++) {
      const idx = view ? view[first + k] : first + k;
      const line = this.buffer.get(idx);
      const row = this.rows.children[k] as HTMLDivElement;
      row.classList.toggle('jp-mod-stderr', line.stream === STDERR);
      row.classList.toggle('jp-mod-match', !!needle && line.text.toLowerCase().includes(needle));
      row.classList.toggle('jp-mod-current', idx === matchIdx);
      (row.firstChild as HTMLSpanElement).textContent = ts ? line.time + ' ' : '';
      (row.lastChild as HTMLSpanElement).textContent = line.text;
    }
    const dropped = this.buffer.dropped;
    if (dropped || this.truncatedAtStart) {
      this.note.hidden = false;
      // Lines never loaded (the tail) and lines dropped since are one story to the reader:
      // the page keeps the newest N.
      const kept = this.maxLines.toLocaleString();
      this.note.textContent = this.truncatedAtStart
        ? `Showing the newest ${kept} lines; older ones are not loaded. Download has the whole log.`
        : `${dropped.toLocaleString()} older ${dropped === 1 ? 'line was' : 'lines were'} dropped ` +
          `to keep the page responsive (it keeps the newest ${kept}). Download has the whole log.`;
    } else {
      this.note.hidden = true;
    }
  }

  private scrolled(): void {
    if (this.programmaticScroll) {
      this.programmaticScroll = false;
    } else {
      const atBottom = this.viewport.scrollTop + this.viewport.clientHeight >= this.viewport.scrollHeight - this.rowHeight;
      this.follow.checked = atBottom;
    }
    this.scheduleRender();
  }

  // -- search -------------------------------------------------------------------------------
  private findNext(backwards: boolean): void {
    const needle = this.findInput.value.toLowerCase();
    if (!needle || !this.buffer.length) {
      return;
    }
    const match = (l: LogLine): boolean => l.text.toLowerCase().includes(needle);
    const cur = this.matchSeq - this.buffer.dropped;
    const from = cur >= 0 && cur < this.buffer.length ? cur + (backwards ? -1 : 1) : backwards ? this.buffer.length - 1 : 0;
    const idx = this.buffer.find(match, (from + this.buffer.length) % this.buffer.length, backwards);
    if (idx < 0) {
      this.findCount.textContent = 'no match';
      return;
    }
    this.matchSeq = this.buffer.dropped + idx;
    this.findCount.textContent = `${this.buffer.filter(match).length.toLocaleString()} matches`;
    this.streamSel.value = 'all';
    this.follow.checked = false;
    this.programmaticScroll = true;
    this.viewport.scrollTop = Math.max(0, idx * this.rowHeight - this.viewport.clientHeight / 2);
    this.scheduleRender();
  }

  // -- download -----------------------------------------------------------------------------
  private async download(): Promise<void> {
    const path = `${LIBPOD}/containers/${encodeURIComponent(this.container)}/logs`;
    const before = this.statusText;
    try {
      this.setStatus('downloading…');
      const response = await this.client.request(
        path,
        {},
        { stdout: true, stderr: true, follow: false, timestamps: this.timestamps.checked }
      );
      const reader = response.body?.getReader();
      if (!reader) {
        throw new Error('the browser gave no body stream');
      }
      const parser = new MuxParser();
      const parts: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        for (const f of parser.push(value)) {
          parts.push(f.data.slice());
          size += f.data.length;
        }
        this.setStatus(`downloading… ${(size / 1048576).toFixed(1)} MiB`);
      }
      const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: 'text/plain' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${this.container}.log`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      this.setStatus(before);
    } catch (err) {
      this.setStatus(`download failed: ${err instanceof CtrApiError ? err.message : String(err)}`);
    }
  }

  private setStatus(text: string): void {
    this.statusText = text;
    this.statusNode.textContent = text;
  }
}
