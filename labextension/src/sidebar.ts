import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

import { containersIcon } from './icons';

/** Command and widget ids shared with other plugins and the browser tests. */
export const SIDEBAR_ID = 'jupyter-ctr-sidebar';

/** The Containers panel in the left area (JupyterLab and Notebook 7). */
export const containersPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ctr:containers',
  description: 'Containers sidebar: list, live state, actions, create, images.',
  autoStart: true,
  optional: [ILabShell],
  activate: (app: JupyterFrontEnd): void => {
    const panel = new Widget();
    panel.id = SIDEBAR_ID;
    panel.addClass('jp-ctr-sidebar');
    panel.title.icon = containersIcon;
    panel.title.caption = 'Containers';
    panel.node.textContent = 'Containers';
    app.shell.add(panel, 'left', { rank: 600 });
  }
};
