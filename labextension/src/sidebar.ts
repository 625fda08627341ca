import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Menu } from '@lumino/widgets';

import { CtrClient } from './api';
import { containersIcon } from './icons';
import { ALL_ACTIONS, allowedActions, isDestructive } from './model';
import { ContainersPanel } from './panel';
import { OVERFLOW_ACTIONS } from './rowmenu';
import { IContainersSidebar } from './tokens';

/** The sidebar's widget id (other plugins and the browser tests use it). */
export const SIDEBAR_ID = 'jupyter-ctr-sidebar';

/** CSS selector of a container row (context menus). */
export const ROW_SELECTOR = '#jupyter-ctr-sidebar .jp-ctr-row';

/** Command ids. */
export const CommandIDs = {
  open: 'jupyter-ctr:open-containers',
  create: 'jupyter-ctr:create-container',
  refresh: 'jupyter-ctr:refresh-containers',
  importImage: 'jupyter-ctr:import-image'
} as const;

const CATEGORY = 'Containers';

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The Containers panel in the left area (JupyterLab and Notebook 7), its commands, palette
 * entries and the rows' context menu. Provides IContainersSidebar for per-row additions. */
export const containersPlugin: JupyterFrontEndPlugin<IContainersSidebar> = {
  id: 'jupyter-ctr:containers',
  description: 'Containers sidebar: list, live state, actions, create, images.',
  autoStart: true,
  provides: IContainersSidebar,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null): IContainersSidebar => {
    const panel = new ContainersPanel(new CtrClient(app.serviceManager.serverSettings));
    panel.id = SIDEBAR_ID;
    panel.title.icon = containersIcon;
    panel.title.caption = 'Containers';
    app.shell.add(panel, 'left', { rank: 600 });

    const { commands, contextMenu } = app;
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

    // The row's context menu: the lifecycle actions its state allows.
    const target = () => panel.menuContainer;
    ALL_ACTIONS.forEach((action, i) => {
      const id = `jupyter-ctr:container-${action}`;
      commands.addCommand(id, {
        label: `${capitalize(action)}${isDestructive(action) ? '…' : ''}`, // … : it asks first
        isVisible: () => {
          const c = target();
          return c !== undefined && allowedActions(c.state, c.restorable).includes(action);
        },
        execute: async () => {
          const c = target();
          if (c) {
            await panel.runAction(c.name, action);
          }
        }
      });
      contextMenu.addItem({ command: id, selector: ROW_SELECTOR, rank: 10 + i });
    });

    // The row's "..." menu: the rare lifecycle actions and the actions added with
    // `inline: false`, as the same commands as the context menu's (hidden where the state
    // does not allow them). Made afresh at each opening: plugins add actions after us.
    panel.openRowMenu = (_c, anchor) => {
      const menu = new Menu({ commands });
      menu.addClass('jp-ctr-row-menu');
      for (const action of ALL_ACTIONS.filter(a => OVERFLOW_ACTIONS.has(a))) {
        menu.addItem({ command: `jupyter-ctr:container-${action}` });
      }
      for (const action of panel.rowActions.filter(a => a.inline === false)) {
        menu.addItem({ command: `jupyter-ctr:row-${action.id}` });
      }
      // disposed once closed, after the chosen command started
      menu.aboutToClose.connect(() => window.setTimeout(() => menu.dispose(), 0));
      const box = anchor.getBoundingClientRect();
      menu.open(box.left, box.bottom);
    };

    let extra = 0;
    return {
      containerAt: node => panel.containerAt(node),
      get menuContainer() {
        return panel.menuContainer;
      },
      addRowAction: action => {
        panel.addRowAction(action);
        const id = `jupyter-ctr:row-${action.id}`;
        commands.addCommand(id, {
          label: action.label,
          icon: action.icon,
          isVisible: () => {
            const c = target();
            return c !== undefined && (action.isVisible?.(c) ?? true);
          },
          execute: async () => {
            const c = target();
            if (c) {
              await panel.runRowAction(action, c);
            }
          }
        });
        contextMenu.addItem({ command: id, selector: ROW_SELECTOR, rank: 1 + extra++ * 0.01 });
      }
    };
  }
};
