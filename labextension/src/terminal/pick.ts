/** Dialog bits shared by the terminal and log commands: which container, which command. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { CtrClient } from '../api';

/** The container a command was called for: `{id}` or `{name}` (the sidebar passes one). */
export function containerArg(args: ReadonlyPartialJSONObject): string {
  const v = args.id ?? args.name;
  return typeof v === 'string' ? v : '';
}

interface IChoice {
  name: string;
  state: string;
}

async function containers(client: CtrClient): Promise<IChoice[]> {
  const list = await client.json<{ Names?: string[]; Id?: string; State?: string }[]>(
    'v4.0.0/libpod/containers/json',
    {},
    { all: true }
  );
  return (list ?? []).map(c => ({
    name: (c.Names?.[0] ?? c.Id ?? '').replace(/^\//, ''),
    state: c.State ?? ''
  }));
}

class FormBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  private readonly fields = new Map<string, HTMLInputElement | HTMLSelectElement>();

  add(key: string, label: string, el: HTMLInputElement | HTMLSelectElement): void {
    const row = document.createElement('label');
    row.className = 'jp-ctr-form-row';
    const span = document.createElement('span');
    span.textContent = label;
    el.classList.add('jp-mod-styled');
    el.name = key;
    row.append(span, el);
    this.node.append(row);
    this.fields.set(key, el);
  }

  getValue(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, el] of this.fields) {
      out[k] = el.value;
    }
    return out;
  }
}

function input(value: string, placeholder: string): HTMLInputElement {
  const el = document.createElement('input');
  el.value = value;
  el.placeholder = placeholder;
  return el;
}

/**
 * Asks for a container (running ones only when `running`), and for a terminal also the
 * command and user. Null when cancelled or when there is nothing to choose.
 */
export async function askTarget(
  client: CtrClient,
  title: string,
  opts: { container?: string; running: boolean; command?: string; user?: string; terminal: boolean }
): Promise<{ container: string; command: string; user: string } | null> {
  const body = new FormBody();
  body.addClass('jp-ctr-form');
  if (!opts.container) {
    const all = await containers(client);
    const choices = opts.running ? all.filter(c => c.state === 'running') : all;
    if (!choices.length) {
      await showDialog({
        title,
        body: opts.running ? 'No container is running.' : 'There is no container.',
        buttons: [Dialog.okButton()]
      });
      return null;
    }
    const select = document.createElement('select');
    for (const c of choices) {
      const o = document.createElement('option');
      o.value = c.name;
      o.textContent = opts.running ? c.name : `${c.name} (${c.state})`;
      select.append(o);
    }
    body.add('container', 'Container', select);
  }
  if (opts.terminal) {
    body.add('command', 'Command', input(opts.command ?? '', 'empty: bash if present, else sh'));
    body.add('user', 'User', input(opts.user ?? '', "empty: the container's user"));
  }
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Open' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  const v = result.value;
  return { container: opts.container || v.container || '', command: v.command ?? '', user: v.user ?? '' };
}
