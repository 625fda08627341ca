/**
 * Keyed rendering of long lists: a row's node is made again only when what it shows changed,
 * and the list's children are moved into order without rebuilding it (a sidebar of 1,000
 * containers re-renders on every event).
 */

/** The part of a DOM node `syncChildren` uses (a fake one in the unit tests). */
export interface IChildNode {
  readonly nextSibling: IChildNode | null;
}

export interface IParentNode<N extends IChildNode> {
  readonly firstChild: IChildNode | null;
  insertBefore(node: N, child: IChildNode | null): unknown;
  removeChild(child: IChildNode): unknown;
}

/** Make `parent`'s children exactly `nodes`, in order, moving only the nodes out of place
 * and removing the others. */
export function syncChildren<N extends IChildNode>(parent: IParentNode<N>, nodes: N[]): void {
  // the others out first, so that a row gone from the top moves none of those below it
  const wanted = new Set<IChildNode>(nodes);
  let cur = parent.firstChild;
  while (cur) {
    const next = cur.nextSibling;
    if (!wanted.has(cur)) {
      parent.removeChild(cur);
    }
    cur = next;
  }
  cur = parent.firstChild;
  for (const node of nodes) {
    if (cur === node) {
      cur = cur.nextSibling;
      continue;
    }
    parent.insertBefore(node, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    parent.removeChild(cur);
    cur = next;
  }
}

/** Nodes kept by key: `get(id, key, make)` returns the node made for `id` last time when its
 * `key` (everything the node shows) is the same, else a new one from `make`. `prune()` after a
 * render forgets the ids it did not ask for. */
export class NodeCache<N> {
  get(id: string, key: string, make: () => N): N {
    const hit = this.entries.get(id);
    const entry = hit && hit.key === key ? hit : { key, node: make() };
    this.seen.set(id, entry);
    return entry.node;
  }

  /** Whether `get(id, key, ...)` would return a node made before. */
  has(id: string, key: string): boolean {
    return this.entries.get(id)?.key === key;
  }

  /** Keep `id`'s node through the next `prune` without asking for it (a row left for a
   * later render). */
  keep(id: string): void {
    const hit = this.entries.get(id);
    if (hit) {
      this.seen.set(id, hit);
    }
  }

  prune(): void {
    this.entries = this.seen;
    this.seen = new Map();
  }

  clear(): void {
    this.entries = new Map();
    this.seen = new Map();
  }

  get size(): number {
    return this.entries.size;
  }

  private entries = new Map<string, { key: string; node: N }>();
  private seen = new Map<string, { key: string; node: N }>();
}
