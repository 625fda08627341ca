import assert from 'node:assert/strict';
import { test } from 'node:test';

import { rowKey } from '../src/model';
import { IChildNode, IParentNode, NodeCache, syncChildren } from '../src/rowsync';

/** A list of children with DOM's moves: insertBefore takes a node out of where it was. */
class FakeParent implements IParentNode<FakeNode> {
  children: FakeNode[] = [];
  moves = 0;

  get firstChild(): FakeNode | null {
    return this.children[0] ?? null;
  }

  insertBefore(node: FakeNode, child: IChildNode | null): void {
    this.moves++;
    this.children = this.children.filter(c => c !== node);
    const at = child === null ? this.children.length : this.children.indexOf(child as FakeNode);
    this.children.splice(at, 0, node);
    node.parent = this;
  }

  removeChild(child: IChildNode): void {
    this.children = this.children.filter(c => c !== child);
  }
}

class FakeNode implements IChildNode {
  parent: FakeParent | null = null;
  constructor(readonly name: string) {}

  get nextSibling(): FakeNode | null {
    const list = this.parent?.children ?? [];
    return list[list.indexOf(this) + 1] ?? null;
  }
}

const names = (p: FakeParent): string[] => p.children.map(c => c.name);

void test('syncChildren orders the children, moving only those out of place', () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(n => new FakeNode(n));
  const parent = new FakeParent();
  syncChildren(parent, [a, b, c]);
  assert.deepEqual(names(parent), ['a', 'b', 'c']);
  parent.moves = 0;
  syncChildren(parent, [a, b, c]);
  assert.equal(parent.moves, 0);
  syncChildren(parent, [a, c]);
  assert.deepEqual(names(parent), ['a', 'c']);
  assert.equal(parent.moves, 0); // one gone: nothing moved
  syncChildren(parent, [a, c, d]);
  assert.deepEqual(names(parent), ['a', 'c', 'd']);
  syncChildren(parent, [d, c, a, b]);
  assert.deepEqual(names(parent), ['d', 'c', 'a', 'b']);
  syncChildren(parent, []);
  assert.deepEqual(names(parent), []);
});

void test('NodeCache makes a node again only when its key changed, and forgets the unasked', () => {
  const cache = new NodeCache<{ made: number }>();
  let made = 0;
  const make = () => ({ made: ++made });
  const first = cache.get('x', 'k1', make);
  cache.get('y', 'k1', make);
  cache.prune();
  assert.equal(cache.get('x', 'k1', make), first);
  assert.notEqual(cache.get('y', 'k2', make), first);
  cache.prune();
  assert.equal(made, 3);
  cache.get('x', 'k1', make);
  cache.prune();
  assert.equal(cache.size, 1);
  assert.equal(cache.get('y', 'k2', make).made, 4); // y was forgotten
  assert.ok(cache.has('y', 'k2') === false); // asked for, not pruned into the kept ones yet
  cache.keep('x');
  cache.prune();
  assert.ok(cache.has('x', 'k1') && cache.has('y', 'k2') && !cache.has('x', 'k2'));
});

void test('rowKey changes with what a row shows', () => {
  const c = {
    id: 'a'.repeat(64),
    name: 'web',
    image: 'img',
    state: 'running',
    startedAt: 1,
    exitCode: 0,
    command: ['sh'],
    restorable: false
  };
  const key = rowKey(c, false, []);
  assert.equal(rowKey({ ...c }, false, []), key);
  assert.notEqual(rowKey({ ...c, state: 'paused' }, false, []), key);
  assert.notEqual(rowKey(c, true, []), key);
  assert.notEqual(rowKey(c, false, ['logs']), key);
  assert.notEqual(rowKey({ ...c, lab: 'l1' }, false, []), key);
});
