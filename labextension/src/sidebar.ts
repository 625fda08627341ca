import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { CtrClient } from './api';
import { containersIcon } from './icons';
import { ContainersPanel } from './panel';

/** The sidebar's widget id (other plugins and the browser tests use it). */
export const SIDEBAR_ID = 'jupyter-ctr-sidebar';

/** Command ids. */
export const CommandIDs = {
  open: 'jupyter-ctr:open-containers',
  create: 'jupyter-ctr:create-container',
  refresh: 'jupyter-ctr:refresh-containers',
  importImage: 'jupyter-ctr:import-image'
} as const;

const CATEGORY = 'Containers';

/** The Containers panel in the left area (JupyterLab and Notebook 7), with its commands. */
export const containersPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ctr:containers',
  description: 'Containers sidebar: list, live state, actions, create, images.',
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null): void => {
    const panel = new ContainersPanel(new CtrClient(app.serviceManager.serverSettings));
    panel.id = SIDEBAR_ID;
    panel.title.icon = containersIcon;
    panel.title.caption = 'Containers';
    app.shell.add(panel, 'left', { rank: 600 });

    const { commands } = app;
    commands.addCommand(CommandIDs.open, {
      label: 'Show Containers',
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    commands.addCommand(CommandIDs.create, {
      label: 'Create Container…',
      execute: async () => {
        app.shell.activateById(SIDEBAR_ID);
        await panel.create();
      }
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Containers and Images',
      execute: () => panel.refreshAll()
    });
    commands.addCommand(CommandIDs.importImage, {
      label: 'Import Container Image…',
      execute: () => panel.importImage()
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: CATEGORY });
      }
    }
  }
};
