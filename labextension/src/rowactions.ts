import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { listIcon, terminalIcon, inspectorIcon } from '@jupyterlab/ui-components';

import { LOGS_COMMAND } from './logs/plugin';
import { IContainer } from './model';
import { CommandIDs } from './terminal/plugin';
import { IContainersSidebar } from './tokens';

/** States in which a container has processes to exec into or attach to. */
const LIVE = new Set(['running']);

/** Whether a shell can be opened in the container (exec needs it running, not paused). */
export function canOpenTerminal(c: Pick<IContainer, 'state'>): boolean {
  return LIVE.has(c.state);
}

/** The sidebar's per-row "Terminal", "Watch terminal" and "Logs" buttons (and context-menu entries): they run
 * the terminal and log view commands, so the palette and the rows do the same thing. */
export const rowActionsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ctr:row-actions',
  description: 'Terminal and log buttons on the Containers sidebar rows.',
  autoStart: true,
  requires: [IContainersSidebar],
  activate: (app: JupyterFrontEnd, sidebar: IContainersSidebar): void => {
    sidebar.addRowAction({
      id: 'terminal',
      label: 'Open terminal',
      icon: terminalIcon,
      isVisible: canOpenTerminal,
      execute: async c => {
        await app.commands.execute(CommandIDs.open, { name: c.name });
      }
    });
    sidebar.addRowAction({
      id: 'watch',
      label: 'Watch terminal',
      icon: inspectorIcon,
      isVisible: canOpenTerminal,
      inline: false, // the row's "..." menu: an instructor's, not everyday
      execute: async c => {
        await app.commands.execute(CommandIDs.watch, { name: c.name });
      }
    });
    sidebar.addRowAction({
      id: 'logs',
      label: 'Logs',
      icon: listIcon,
      execute: async c => {
        await app.commands.execute(LOGS_COMMAND, { name: c.name });
      }
    });
  }
};
