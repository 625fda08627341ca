/**
 * The page-level test hook (`window.jupyterCtr`): the browser tests and the benchmark read
 * terminal buffers and log views through it instead of scraping the DOM.
 */
import type { ISessionState } from './sessions';

export interface ITerminalHook {
  id: string;
  container: string;
  mode: string;
  /** The terminal's buffer as text, one line per row (trailing blanks trimmed). */
  text(): string;
  size(): { rows: number; cols: number };
  status(): string;
  /** Calls ``listener`` each time xterm has parsed written data into its buffer (no polling:
   * the benchmark times the echo with it); returns the unsubscribe function. */
  onParsed(listener: () => void): () => void;
  /** Drop the websocket as a network failure would (the tab reconnects with replay). */
  drop(): void;
  /** A read-only watch tab (`?shadow=1`). */
  shadow: boolean;
  /** The server's session state (recording, role, viewers), null before it told. */
  session(): ISessionState | null;
  /** The banner's text ('' when hidden). */
  banner(): string;
  execId(): string;
}

export interface ILogHook {
  id: string;
  container: string;
  /** Lines kept in the page, and lines dropped to bound its memory. */
  lines(): number;
  dropped(): number;
  line(index: number): string;
  status(): string;
}

interface IPageHook {
  terminals: Map<string, ITerminalHook>;
  logs: Map<string, ILogHook>;
}

export function pageHook(): IPageHook {
  const w = window as unknown as { jupyterCtr?: Partial<IPageHook> };
  const h = (w.jupyterCtr ??= {});
  h.terminals ??= new Map();
  h.logs ??= new Map();
  return h as IPageHook;
}
