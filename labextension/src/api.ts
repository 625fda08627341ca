/**
 * The REST client of the server extension's API under `{baseUrl}ctr/` (libpod v4 flavour).
 * Requests go through ServerConnection, which adds the token and the XSRF header; a failed
 * request throws CtrApiError carrying the server's own message.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ILabResult, LabAction } from './labmodel';
import { errorMessage, Query, queryString, statsRequest } from './model';

/** The libpod API version the client speaks (any version is served the same). */
const LIBPOD = 'v4.0.0/libpod';

/** A request the server refused or could not do; `message` is the server's. */
export class CtrApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'CtrApiError';
  }
}

export class CtrClient {
  readonly settings: ServerConnection.ISettings;

  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  /** `{baseUrl}ctr/{path}?{query}`. */
  url(path: string, query: Query = {}): string {
    return URLExt.join(this.settings.baseUrl, 'ctr', path) + queryString(query);
  }

  /** `ws(s)://.../ctr/{path}`, with the token when the page has one (websockets carry no
   * Authorization header; the login cookie works too). */
  wsUrl(path: string, query: Query = {}): string {
    const q = { ...query };
    if (this.settings.token) {
      q.token = this.settings.token;
    }
    return URLExt.join(this.settings.wsUrl, 'ctr', path) + queryString(q);
  }

  /** Fetch and check; throws CtrApiError with the server's message on any failure. */
  async request(path: string, init: RequestInit = {}, query: Query = {}): Promise<Response> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(this.url(path, query), init, this.settings);
    } catch (err) {
      throw new CtrApiError(`cannot reach the server: ${String(err)}`, 0);
    }
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      throw new CtrApiError(errorMessage(response.status, response.statusText, body), response.status);
    }
    return response;
  }

  async json<T>(path: string, init: RequestInit = {}, query: Query = {}): Promise<T> {
    const response = await this.request(path, init, query);
    const text = await response.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  // -- containers -------------------------------------------------------------------------
  listContainers(): Promise<Record<string, unknown>[]> {
    return this.json(`${LIBPOD}/containers/json`, {}, { all: true });
  }

  /** One request for all `ids` (running containers); `stream=false` gives one sample. Many
   * IDs are not named in the URL: all are asked for and `ids`' kept (`statsRequest`). */
  async stats(ids: string[]): Promise<Record<string, unknown>[]> {
    if (!ids.length) {
      return [];
    }
    const { query, keep } = statsRequest(ids);
    const body = await this.json<{ Stats?: Record<string, unknown>[] }>(
      `${LIBPOD}/containers/stats`,
      {},
      query
    );
    const items = body?.Stats ?? [];
    return keep ? items.filter(item => keep.has(String(item.ContainerID))) : items;
  }

  /** A verb (`start`, `pause`, ... `checkpoint`, `restore`) or `remove`; remove is forced
   * with no stop timeout (the user confirmed that a running container's processes are
   * killed). */
  async action(name: string, verb: string): Promise<void> {
    const path = `${LIBPOD}/containers/${encodeURIComponent(name)}`;
    if (verb === 'remove') {
      await this.request(path, { method: 'DELETE' }, { force: true, t: 0 });
    } else {
      await this.request(`${path}/${verb}`, { method: 'POST' });
    }
  }

  async create(spec: Record<string, unknown>): Promise<string> {
    const body = await this.json<{ Id: string }>(`${LIBPOD}/containers/create`, {
      method: 'POST',
      body: JSON.stringify(spec),
      headers: { 'Content-Type': 'application/json' }
    });
    return body.Id;
  }

  /** The container's spec as a `%%ctr spec` cell's body (GET ctr/api/containers/NAME/spec):
   * the spec it was made from, else one read back from its config. */
  async containerSpec(name: string, format: 'toml' | 'yaml' = 'toml'): Promise<string> {
    const path = `api/containers/${encodeURIComponent(name)}/spec`;
    const response = await this.request(path, {}, { format });
    return response.text();
  }

  // -- the checkpoint timeline (ours: /ctr/api/containers/{name}/snapshots...) -------------
  /** The container's snapshots, oldest first (REST objects {Name, Kind, Created, Size, Reason}). */
  snapshots(name: string): Promise<Record<string, unknown>[]> {
    return this.json(this.timelinePath(name));
  }

  snapshot(name: string, step: string): Promise<Record<string, unknown>> {
    return this.json(this.timelinePath(name), { method: 'POST' }, { step });
  }

  rewind(name: string, step: string): Promise<Record<string, unknown>> {
    return this.json(this.timelinePath(name, step, 'rewind'), { method: 'POST' });
  }

  async removeSnapshot(name: string, step: string): Promise<void> {
    await this.request(this.timelinePath(name, step), { method: 'DELETE' });
  }

  /** The snapshot's hand-in archive (a checkpoint archive with the image, gzip). */
  async exportSnapshot(name: string, step: string): Promise<Blob> {
    const response = await this.request(this.timelinePath(name, step, 'export'));
    return response.blob();
  }

  private timelinePath(name: string, step?: string, verb?: string): string {
    const parts = ['api/containers', encodeURIComponent(name), 'snapshots'];
    if (step !== undefined) {
      parts.push(encodeURIComponent(step));
    }
    if (verb !== undefined) {
      parts.push(verb);
    }
    return parts.join('/');
  }

  /** One container's inspect (libpod). */
  inspect(name: string): Promise<Record<string, unknown>> {
    return this.json(`${LIBPOD}/containers/${encodeURIComponent(name)}/json`);
  }

  // -- labs (ours: GET /ctr/api/labs, POST /ctr/api/labs/{lab}/{action}) -------------------
  /** A bulk action on every container of `lab`; one result per container, failed ones
   * included (a refusal of the whole action throws, e.g. 403 for a student). */
  async labAction(lab: string, action: LabAction, query: Query = {}): Promise<ILabResult[]> {
    const body = await this.json<{ Results?: ILabResult[] }>(
      `api/labs/${encodeURIComponent(lab)}/${action}`,
      { method: 'POST' },
      query
    );
    return body?.Results ?? [];
  }

  // -- images -----------------------------------------------------------------------------
  listImages(): Promise<Record<string, unknown>[]> {
    return this.json(`${LIBPOD}/images/json`);
  }

  /** Remove an image: by ID with all its names (forced: podman refuses an ID with several
   * names otherwise), by one of several names only that name. */
  async removeImage(name: string): Promise<void> {
    await this.request(`${LIBPOD}/images/${encodeURIComponent(name)}?force=true`, { method: 'DELETE' });
  }

  /** Upload a rootfs or OCI archive as image `reference`. */
  async importImage(archive: Blob, reference: string): Promise<string> {
    const body = await this.json<{ Id?: string }>(
      `${LIBPOD}/images/import`,
      { method: 'POST', body: archive, headers: { 'Content-Type': 'application/x-tar' } },
      { reference }
    );
    return body?.Id ?? '';
  }
}
