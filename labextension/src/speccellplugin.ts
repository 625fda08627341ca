/**
 * The sidebar's "Edit as cell" and "Clone as cell" row actions: they write a `%%ctr spec NAME`
 * cell (docs/magics.md) below the active cell of the current notebook, or into a new notebook
 * when none is in front. The notebook is used through the few members this needs (its
 * context, its shared model and active cell index), as every notebook panel has them.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { copyIcon, editIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { CtrClient } from './api';
import { IContainer } from './model';
import { cloneName, LOAD_EXT, loadsMagics, specCell } from './speccell';
import { IContainersSidebar } from './tokens';

/** A notebook cell's shared text. */
interface ISharedCell {
  getSource(): string;
  setSource(source: string): void;
}

/** What of a NotebookPanel this module uses. */
interface INotebookPanelLike extends Widget {
  context: { ready: Promise<void> };
  content: {
    activeCellIndex: number;
    model: {
      sharedModel: {
        cells: ISharedCell[];
        insertCell(index: number, cell: { cell_type: 'code'; source: string }): unknown;
      };
    } | null;
  };
}

/** The widget as a notebook panel, if it is one. */
function asNotebook(widget: unknown): INotebookPanelLike | null {
  if (!(widget instanceof Widget) || !widget.node.classList.contains('jp-NotebookPanel')) {
    return null;
  }
  const panel = widget as unknown as Partial<INotebookPanelLike>;
  return panel.context && panel.content ? (panel as INotebookPanelLike) : null;
}

/** Put `text` in a code cell below the active one of the notebook in front (with a
 * `%load_ext jupyter_ctr` cell before it when the notebook has none), or in a new notebook;
 * the new cell becomes the active one. */
export async function writeSpecCell(app: JupyterFrontEnd, text: string): Promise<void> {
  let panel = asNotebook(app.shell.currentWidget);
  let fresh = false;
  if (panel === null) {
    // with the default kernel named, the notebook opens without asking for one
    const kernelName = app.serviceManager.kernelspecs.specs?.default;
    panel = asNotebook(await app.commands.execute('notebook:create-new', { kernelName }));
    fresh = true;
    if (panel === null) {
      throw new Error('no notebook could be opened for the cell');
    }
  }
  await panel.context.ready;
  const model = panel.content.model;
  if (model === null) {
    throw new Error('the notebook has no model yet');
  }
  const shared = model.sharedModel;
  const sources = shared.cells.map(cell => cell.getSource());
  let at = Math.max(panel.content.activeCellIndex, -1) + 1;
  if (fresh && sources.length === 1 && !sources[0].trim()) {
    shared.cells[0].setSource(LOAD_EXT); // a new notebook's one empty cell
    at = 1;
  } else if (!loadsMagics(sources)) {
    shared.insertCell(at, { cell_type: 'code', source: LOAD_EXT });
    at += 1;
  }
  shared.insertCell(at, { cell_type: 'code', source: text });
  panel.content.activeCellIndex = at;
  app.shell.activateById(panel.id);
}

export const specCellPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ctr:spec-cell',
  description: 'Edit as cell / Clone as cell: a container\'s spec as a %%ctr spec notebook cell.',
  autoStart: true,
  requires: [IContainersSidebar],
  activate: (app: JupyterFrontEnd, sidebar: IContainersSidebar): void => {
    const client = new CtrClient();
    sidebar.addRowAction({
      id: 'edit-cell',
      label: 'Edit as cell',
      icon: editIcon,
      inline: false,
      execute: async (c: IContainer) => {
        await writeSpecCell(app, specCell(c.name, await client.containerSpec(c.name)));
      }
    });
    sidebar.addRowAction({
      id: 'clone-cell',
      label: 'Clone as cell',
      icon: copyIcon,
      inline: false,
      execute: async (c: IContainer) => {
        const spec = await client.containerSpec(c.name);
        const taken = (await client.listContainers()).flatMap(item =>
          Array.isArray(item.Names) ? (item.Names as string[]) : []
        );
        await writeSpecCell(app, specCell(cloneName(c.name, taken), spec));
      }
    });
  }
};
