import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  allowedActions,
  applyEvent,
  confirmText,
  containerFromList,
  createSpec,
  errorMessage,
  FormError,
  IContainer,
  ICreateForm,
  isDestructive,
  matchesFilter,
  mergeListed,
  parseEnv,
  parseSize,
  queryString,
  splitCommand,
  statsFromList,
  statsRequest,
  STATS_NAMED_MAX,
  uptime
} from '../src/model';

function row(over: Partial<IContainer> = {}): IContainer {
  return {
    id: 'a'.repeat(64),
    name: 'web',
    image: 'localhost/demo:latest',
    state: 'running',
    startedAt: 1000,
    exitCode: 0,
    command: ['sh'],
    restorable: false,
    ...over
  };
}

void test('allowedActions follows the state', () => {
  assert.deepEqual(allowedActions('created'), ['start', 'remove']);
  assert.deepEqual(allowedActions('running'), [
    'stop',
    'pause',
    'restart',
    'kill',
    'checkpoint',
    'remove'
  ]);
  assert.deepEqual(allowedActions('paused'), ['stop', 'unpause', 'kill', 'remove']);
  assert.deepEqual(allowedActions('exited'), ['start', 'restart', 'remove']);
  assert.deepEqual(allowedActions('exited', true), ['start', 'restart', 'restore', 'remove']);
  assert.ok(!allowedActions('running', true).includes('restore'));
  assert.deepEqual(allowedActions('removing'), []);
  assert.deepEqual(allowedActions('no-such-state'), ['remove']);
  assert.ok(!allowedActions('running').includes('start'));
  assert.ok(!allowedActions('paused').includes('pause'));
});

void test('destructive actions are confirmed with a sentence naming the container', () => {
  assert.ok(isDestructive('remove') && isDestructive('kill') && isDestructive('stop'));
  assert.ok(!isDestructive('start') && !isDestructive('pause') && !isDestructive('unpause'));
  assert.match(confirmText('remove', row()), /web.*killed/);
  assert.doesNotMatch(confirmText('remove', row({ state: 'exited' })), /killed/);
});

void test('containerFromList reads libpod list items', () => {
  const c = containerFromList({
    Id: 'b'.repeat(64),
    Names: ['db'],
    Image: 'img',
    State: 'paused',
    StartedAt: 1700000000,
    ExitCode: 0,
    Command: ['sleep', '1d']
  });
  assert.equal(c.name, 'db');
  assert.equal(c.state, 'paused');
  assert.deepEqual(c.command, ['sleep', '1d']);
  assert.equal(containerFromList({ Id: 'c'.repeat(64) }).name, 'c'.repeat(12));
  assert.equal(containerFromList({ Id: 'x' }).state, 'unknown');
  assert.equal(c.restorable, false); // podman's list has no such field
  assert.equal(containerFromList({ Id: 'x', State: 'exited', Restorable: true }).restorable, true);
});

void test('statsFromList', () => {
  assert.deepEqual(statsFromList({ ContainerID: 'i', CPU: 2.5, MemUsage: 10, MemLimit: 100 }), [
    'i',
    { cpu: 2.5, memUsage: 10, memLimit: 100 }
  ]);
});

void test('applyEvent updates state in place and asks for a refetch of unknown containers', () => {
  const c = row({ state: 'running' });
  const rows = new Map([[c.id, c]]);
  const ev = (Action: string, id = c.id, Attributes: Record<string, string> = {}) => ({
    Type: 'container',
    Action,
    time: 2000,
    Actor: { ID: id, Attributes }
  });

  assert.deepEqual(applyEvent(rows, ev('pause')), { changed: true, refetch: false, images: false });
  assert.equal(c.state, 'paused');
  applyEvent(rows, ev('unpause'));
  assert.equal(c.state, 'running');
  applyEvent(rows, ev('died', c.id, { exitCode: '137' }));
  assert.equal(c.state, 'exited');
  assert.equal(c.exitCode, 137);
  applyEvent(rows, ev('start'));
  assert.equal(c.state, 'running');
  assert.equal(c.startedAt, 2000);
  // a checkpoint may leave it running: the list tells (and whether a checkpoint is left)
  assert.deepEqual(applyEvent(rows, ev('checkpoint')), { changed: false, refetch: true, images: false });
  assert.equal(c.state, 'running');
  applyEvent(rows, ev('died', c.id, { exitCode: '0' }));
  assert.deepEqual(applyEvent(rows, ev('restore')), { changed: true, refetch: true, images: false });
  assert.equal(c.state, 'running');

  // events that do not change the state
  assert.deepEqual(applyEvent(rows, ev('exec')), { changed: false, refetch: false, images: false });
  assert.deepEqual(applyEvent(rows, ev('attach')).changed, false);

  // a new container: the list must be read again
  assert.deepEqual(applyEvent(rows, ev('create', 'z'.repeat(64))), {
    changed: false,
    refetch: true,
    images: true
  });
  // images
  assert.deepEqual(applyEvent(rows, { Type: 'image', Action: 'remove', Actor: { ID: 'i' } }), {
    changed: false,
    refetch: false,
    images: true
  });
  // remove drops the row
  assert.equal(applyEvent(rows, ev('remove')).changed, true);
  assert.equal(rows.size, 0);
  assert.equal(applyEvent(rows, ev('remove')).changed, false);
});

void test('uptime only for running and paused containers', () => {
  assert.equal(uptime(row({ startedAt: 1000 }), 1060), 60);
  assert.equal(uptime(row({ state: 'exited' }), 1060), null);
  assert.equal(uptime(row({ startedAt: -62135596800 }), 1060), null);
});

void test('matchesFilter', () => {
  const c = row();
  assert.ok(matchesFilter(c, ''));
  assert.ok(matchesFilter(c, 'WEB'));
  assert.ok(matchesFilter(c, 'demo'));
  assert.ok(matchesFilter(c, 'runn'));
  assert.ok(!matchesFilter(c, 'paused'));
});

void test('splitCommand handles quotes and escapes', () => {
  assert.deepEqual(splitCommand(''), []);
  assert.deepEqual(splitCommand('  sleep   1d '), ['sleep', '1d']);
  assert.deepEqual(splitCommand(`sh -c 'echo "a b"; exit 3'`), ['sh', '-c', 'echo "a b"; exit 3']);
  assert.deepEqual(splitCommand('echo "x \\"y\\"" a\\ b ""'), ['echo', 'x "y"', 'a b', '']);
  assert.throws(() => splitCommand("echo 'x"), FormError);
});

void test('parseSize and parseEnv', () => {
  assert.equal(parseSize(''), null);
  assert.equal(parseSize('512m'), 512 * 1024 * 1024);
  assert.equal(parseSize('1G'), 1024 ** 3);
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('1048576'), 1048576);
  assert.throws(() => parseSize('lots'), /memory/);
  assert.deepEqual(parseEnv('A=1\n\n B=x=y \n'), { A: '1', B: 'x=y' });
  assert.throws(() => parseEnv('novalue'), /KEY=VALUE/);
});

void test('createSpec builds a libpod SpecGenerator', () => {
  const form: ICreateForm = {
    image: 'localhost/demo:latest',
    command: 'sleep 1d',
    name: 'c1',
    tty: true,
    env: 'A=1',
    memory: '256m',
    cpus: '1.5',
    pidsLimit: '64',
    restartPolicy: 'on-failure'
  };
  assert.deepEqual(createSpec(form), {
    image: 'localhost/demo:latest',
    command: ['sleep', '1d'],
    name: 'c1',
    terminal: true,
    stdin: true,
    env: { A: '1' },
    resource_limits: {
      memory: { limit: 256 * 1024 * 1024 },
      cpu: { quota: 150000, period: 100000 },
      pids: { limit: 64 }
    },
    restart_policy: 'on-failure'
  });
  const bare = { ...form, command: '', name: ' ', tty: false, env: '', memory: '', cpus: '' };
  assert.deepEqual(createSpec({ ...bare, pidsLimit: '', restartPolicy: 'no' }), {
    image: 'localhost/demo:latest'
  });
  assert.throws(() => createSpec({ ...form, image: ' ' }), /image/);
  assert.throws(() => createSpec({ ...form, pidsLimit: '1.5' }), /pids limit/);
  assert.throws(() => createSpec({ ...form, cpus: '-1' }), /CPUs/);
});

void test('errorMessage prefers the server message', () => {
  const body = JSON.stringify({ cause: 'x', message: 'container c1 is not running', response: 409 });
  assert.equal(errorMessage(409, 'Conflict', body), 'container c1 is not running');
  assert.equal(errorMessage(500, 'Internal Server Error', 'boom'), 'boom');
  assert.equal(errorMessage(502, 'Bad Gateway', ''), 'HTTP 502 Bad Gateway');
});

void test('queryString repeats list keys and encodes values', () => {
  assert.equal(queryString({}), '');
  assert.equal(queryString({ a: undefined }), '');
  assert.equal(
    queryString({ stream: false, containers: ['a b', 'c&d'], t: 0 }),
    '?stream=false&containers=a%20b&containers=c%26d&t=0'
  );
});

void test('a stats request names a few IDs, and asks for all when there are many', () => {
  const few = ['a'.repeat(64), 'b'.repeat(64)];
  assert.deepEqual(statsRequest(few), { query: { stream: false, containers: few }, keep: null });
  const many = Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(64, '0'));
  const { query, keep } = statsRequest(many);
  assert.deepEqual(query, { stream: false });
  assert.equal(keep?.size, 1000);
  assert.ok(queryString(query).length < 100);
  assert.ok(queryString({ containers: many.slice(0, STATS_NAMED_MAX) }).length < 4096);
});

void test('a list that was on its way does not undo the events that came after it was asked', () => {
  const running = row({ id: 'r'.repeat(64), name: 'r', state: 'running' });
  const gone = row({ id: 'g'.repeat(64), name: 'g' });
  const other = row({ id: 'o'.repeat(64), name: 'o', state: 'created' });
  const rows = new Map([
    [running.id, { ...running, state: 'exited' }], // a stop event came after the list was asked
    [other.id, other]
  ]);
  const touched = new Map([
    [running.id, 20],
    [gone.id, 25], // removed after the list was asked: stays removed
    [other.id, 5] // an event older than the list: the list knows it
  ]);
  const listed = [running, gone, { ...other, state: 'running' }];
  const next = mergeListed(rows, listed, touched, 10);
  assert.equal(next.get(running.id)?.state, 'exited');
  assert.equal(next.has(gone.id), false);
  assert.equal(next.get(other.id)?.state, 'running');
  assert.deepEqual([...touched.keys()].sort(), [gone.id, running.id].sort()); // older ones dropped
  // a later list, asked after those events, is taken as it is
  const later = mergeListed(next, listed, touched, 30);
  assert.equal(later.get(running.id)?.state, 'running');
  assert.equal(later.has(gone.id), true);
  assert.equal(touched.size, 0);
});
