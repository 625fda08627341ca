/** The sidebar's dialogs: create a container, import an image archive. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { ICreateForm } from './model';

/** The create dialog's value: the form and whether to start the container at once. */
export interface ICreateValue extends ICreateForm {
  start: boolean;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, v);
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** A labelled field; `name` becomes the input's name (the browser tests select by it). */
function field(form: HTMLElement, label: string, input: HTMLElement, hint = ''): void {
  const row = el('label', { class: 'jp-ctr-field' });
  row.appendChild(el('span', { class: 'jp-ctr-field-label' }, label));
  row.appendChild(input);
  if (hint) {
    row.appendChild(el('span', { class: 'jp-ctr-field-hint' }, hint));
  }
  form.appendChild(row);
}

class CreateBody extends Widget implements Dialog.IBodyWidget<ICreateValue> {
  constructor(images: string[], initial: Partial<ICreateValue>) {
    super();
    this.addClass('jp-ctr-dialog');
    const form = this.node;
    this.image = el('select', { name: 'image', class: 'jp-mod-styled' });
    for (const name of images) {
      this.image.appendChild(el('option', { value: name }, name));
    }
    if (initial.image) {
      this.image.value = initial.image;
    }
    field(form, 'Image', this.image, images.length ? '' : 'no images: import one first');
    this.command = this.input('command', initial.command, 'the image default');
    field(form, 'Command', this.command);
    this.name = this.input('name', initial.name, 'generated');
    field(form, 'Name', this.name);
    this.tty = el('input', { type: 'checkbox', name: 'tty' });
    this.tty.checked = initial.tty ?? true;
    field(form, 'Terminal (tty)', this.tty);
    this.env = el('textarea', { name: 'env', rows: '2', class: 'jp-mod-styled', placeholder: 'KEY=VALUE, one a line' });
    this.env.value = initial.env ?? '';
    field(form, 'Environment', this.env);
    this.memory = this.input('memory', initial.memory, 'e.g. 256m, 1g');
    field(form, 'Memory limit', this.memory);
    this.cpus = this.input('cpus', initial.cpus, 'e.g. 0.5, 2');
    field(form, 'CPUs', this.cpus);
    this.pids = this.input('pidsLimit', initial.pidsLimit, 'e.g. 100');
    field(form, 'PIDs limit', this.pids);
    this.restart = el('select', { name: 'restartPolicy', class: 'jp-mod-styled' });
    for (const p of ['no', 'on-failure', 'always', 'unless-stopped']) {
      this.restart.appendChild(el('option', { value: p }, p));
    }
    this.restart.value = initial.restartPolicy ?? 'no';
    field(form, 'Restart policy', this.restart);
    this.start = el('input', { type: 'checkbox', name: 'start' });
    this.start.checked = initial.start ?? true;
    field(form, 'Start after creating', this.start);
  }

  private input(name: string, value: string | undefined, placeholder: string): HTMLInputElement {
    const node = el('input', { type: 'text', name, class: 'jp-mod-styled', placeholder });
    node.value = value ?? '';
    return node;
  }

  getValue(): ICreateValue {
    return {
      image: this.image.value,
      command: this.command.value,
      name: this.name.value,
      tty: this.tty.checked,
      env: this.env.value,
      memory: this.memory.value,
      cpus: this.cpus.value,
      pidsLimit: this.pids.value,
      restartPolicy: this.restart.value,
      start: this.start.checked
    };
  }

  private image: HTMLSelectElement;
  private command: HTMLInputElement;
  private name: HTMLInputElement;
  private tty: HTMLInputElement;
  private env: HTMLTextAreaElement;
  private memory: HTMLInputElement;
  private cpus: HTMLInputElement;
  private pids: HTMLInputElement;
  private restart: HTMLSelectElement;
  private start: HTMLInputElement;
}

/** Ask for a new container's settings; null when cancelled. `initial` refills the form after
 * a rejected value. */
export async function createDialog(
  images: string[],
  initial: Partial<ICreateValue> = {}
): Promise<ICreateValue | null> {
  const result = await showDialog({
    title: 'Create container',
    body: new CreateBody(images, initial),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })],
    focusNodeSelector: 'select[name="image"]'
  });
  return result.button.accept ? result.value : null;
}

/** What the import dialog returns. */
export interface IImportValue {
  file: File | null;
  reference: string;
}

class ImportBody extends Widget implements Dialog.IBodyWidget<IImportValue> {
  constructor() {
    super();
    this.addClass('jp-ctr-dialog');
    this.file = el('input', { type: 'file', name: 'archive', accept: '.tar,.tar.gz,.tgz,.tar.xz' });
    field(this.node, 'Archive', this.file, 'a root filesystem tarball or an OCI layout archive');
    this.reference = el('input', { type: 'text', name: 'reference', class: 'jp-mod-styled', placeholder: 'localhost/name:tag' });
    field(this.node, 'Image name', this.reference);
  }

  getValue(): IImportValue {
    return { file: this.file.files?.[0] ?? null, reference: this.reference.value.trim() };
  }

  private file: HTMLInputElement;
  private reference: HTMLInputElement;
}

/** Ask for an archive and a name; null when cancelled. */
export async function importDialog(): Promise<IImportValue | null> {
  const result = await showDialog({
    title: 'Import image',
    body: new ImportBody(),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Import' })]
  });
  return result.button.accept ? result.value : null;
}
