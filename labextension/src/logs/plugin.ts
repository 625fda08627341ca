/** Log view tabs: a command (palette, and a public id the sidebar calls with `{id}` or
 * `{name}`), layout restoration, and the memory bound from the settings. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { textEditorIcon } from '@jupyterlab/ui-components';

import { CtrClient } from '../api';
import { askTarget, containerArg } from '../terminal/pick';
import { LogView } from './view';

export const LOGS_COMMAND = 'jupyter-ctr:open-logs';
const PLUGIN_ID = 'jupyter-ctr:logs';

export const logsPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Log view tabs: follow, timestamps, stdout/stderr, search, download.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    registry: ISettingRegistry | null
  ): void => {
    const client = new CtrClient(app.serviceManager.serverSettings);
    const tracker = new WidgetTracker<MainAreaWidget<LogView>>({ namespace: 'jupyter-ctr-logs' });
    let maxLines = 50000;
    if (registry) {
      void registry
        .load(PLUGIN_ID)
        .then(s => {
          const apply = (): void => {
            maxLines = Number(s.composite.maxLines) || maxLines;
          };
          s.changed.connect(apply);
          apply();
        })
        .catch(err => console.warn('jupyter-ctr: log settings', err));
    }

    app.commands.addCommand(LOGS_COMMAND, {
      label: args => (containerArg(args) ? 'Show Logs' : 'Show a Container’s Logs…'),
      caption: 'The container’s output in a tab (follows new lines)',
      icon: args => (args.isPalette ? undefined : textEditorIcon),
      execute: async args => {
        let container = containerArg(args);
        if (!container) {
          const target = await askTarget(client, 'Show logs', { running: false, terminal: false });
          if (!target) {
            return;
          }
          container = target.container;
        }
        if (args.activate !== false) {
          await app.restored; // not while restoring (this command restores): the layout would drop it
        }
        const content = new LogView(client, container, maxLines);
        const main = new MainAreaWidget({ content });
        main.id = content.panelId;
        main.title.icon = textEditorIcon;
        main.title.label = content.title.label;
        main.title.caption = content.title.caption;
        main.addClass('jp-ctr-logs-panel');
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
    palette?.addItem({ command: LOGS_COMMAND, category: 'Containers', args: { isPalette: true } });
    if (restorer) {
      void restorer.restore(tracker, {
        command: LOGS_COMMAND,
        args: w => ({ name: w.content.container, activate: false }),
        name: w => w.content.container
      });
    }
  }
};
