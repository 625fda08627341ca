/** Timeline tabs: a command (palette, and a public id the sidebar calls with `{id}` or
 * `{name}`), layout restoration, and the sidebar rows' "Timeline" action (in the row's "..."
 * and context menus: it is not one of the everyday buttons). */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { historyIcon } from '@jupyterlab/ui-components';

import { CtrClient } from '../api';
import { askTarget, containerArg } from '../terminal/pick';
import { IContainersSidebar } from '../tokens';
import { TimelinePanel } from './panel';

export const TIMELINE_COMMAND = 'jupyter-ctr:open-timeline';

export const timelinePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ctr:timeline',
  description: 'Checkpoint timeline tabs: snapshot, rewind, export and remove a container’s steps.',
  autoStart: true,
  optional: [IContainersSidebar, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    sidebar: IContainersSidebar | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const client = new CtrClient(app.serviceManager.serverSettings);
    const tracker = new WidgetTracker<MainAreaWidget<TimelinePanel>>({ namespace: 'jupyter-ctr-timeline' });

    app.commands.addCommand(TIMELINE_COMMAND, {
      label: args => (containerArg(args) ? 'Show Timeline' : 'Show a Container’s Timeline…'),
      caption: 'The container’s checkpoint timeline in a tab: snapshot, rewind, export',
      icon: args => (args.isPalette ? undefined : historyIcon),
      execute: async args => {
        let container = containerArg(args);
        if (!container) {
          const target = await askTarget(client, 'Show timeline', { running: false, terminal: false });
          if (!target) {
            return;
          }
          container = target.container;
        }
        // one tab per container: bring back the open one
        const open = tracker.find(w => w.content.container === container);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        if (args.activate !== false) {
          await app.restored; // not while restoring (this command restores): the layout would drop it
        }
        const content = new TimelinePanel(client, container);
        const main = new MainAreaWidget({ content });
        main.id = content.panelId;
        main.title.icon = historyIcon;
        main.title.label = content.title.label;
        main.title.caption = content.title.caption;
        main.addClass('jp-ctr-timeline-tab');
        await tracker.add(main);
        if (!main.isAttached) {
          app.shell.add(main, 'main');
        }
        if (args.activate !== false) {
          app.shell.activateById(main.id);
        }
        return main;
      }
    });
    palette?.addItem({ command: TIMELINE_COMMAND, category: 'Containers', args: { isPalette: true } });
    if (restorer) {
      void restorer.restore(tracker, {
        command: TIMELINE_COMMAND,
        args: w => ({ name: w.content.container, activate: false }),
        name: w => w.content.container
      });
    }
    sidebar?.addRowAction({
      id: 'timeline',
      label: 'Timeline',
      icon: historyIcon,
      inline: false,
      execute: async c => {
        await app.commands.execute(TIMELINE_COMMAND, { name: c.name });
      }
    });
  }
};
