/**
 * Terminal tabs: commands (palette, context menu, and public ids the sidebar calls with
 * `{id}` or `{name}`), layout restoration (a reload reconnects to the same session and
 * replays its scrollback), the Running panel's section, settings and theme.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  IThemeManager,
  MainAreaWidget,
  WidgetTracker,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IRunningSessionManagers, IRunningSessions } from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { terminalIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';

import { CtrApiError, CtrClient } from '../api';
import { askTarget, containerArg } from './pick';
import { splitCommand } from './protocol';
import { ILiveSession, IWatchTarget, recordButton, sessionsOf, shadowButton } from './sessions';
import { CtrTerminal, ITerminalConfig, ITerminalSpec } from './widget';

/** Public command ids (the sidebar's row actions call these with `{id}` or `{name}`). */
export const CommandIDs = {
  open: 'jupyter-ctr:open-terminal',
  attach: 'jupyter-ctr:attach-terminal',
  restore: 'jupyter-ctr:restore-terminal',
  copy: 'jupyter-ctr:terminal-copy',
  paste: 'jupyter-ctr:terminal-paste',
  restart: 'jupyter-ctr:terminal-restart',
  record: 'jupyter-ctr:terminal-record',
  takeOver: 'jupyter-ctr:terminal-take-over',
  watch: 'jupyter-ctr:watch-terminal'
} as const;

const PLUGIN_ID = 'jupyter-ctr:terminal';

interface ISettings {
  shell: string;
  user: string;
  detachKeys: string;
  fontSize: number;
  cursorBlink: boolean;
}

export const terminalPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Terminal tabs in containers: exec a shell, or attach to the main process.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, IRunningSessionManagers, ISettingRegistry, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    running: IRunningSessionManagers | null,
    registry: ISettingRegistry | null,
    themes: IThemeManager | null
  ): void => {
    const client = new CtrClient(app.serviceManager.serverSettings);
    const tracker = new WidgetTracker<MainAreaWidget<CtrTerminal>>({ namespace: 'jupyter-ctr-terminal' });
    const settings: ISettings = { shell: '', user: '', detachKeys: 'ctrl-p,ctrl-q', fontSize: 13, cursorBlink: false };
    const isLight = (): boolean => (themes?.theme ? themes.isLight(themes.theme) : true);
    const config = (): ITerminalConfig => ({ detachKeys: settings.detachKeys, fontSize: settings.fontSize,
      cursorBlink: settings.cursorBlink,
      light: isLight()
    });
    const changed = new Signal<unknown, void>(tracker);

    const each = (fn: (t: CtrTerminal) => void): void => tracker.forEach(w => fn(w.content));
    themes?.themeChanged.connect(() => each(t => t.setConfig({ light: isLight() })));
    if (registry) {
      void registry
        .load(PLUGIN_ID)
        .then(s => {
          const apply = (): void => {
            Object.assign(settings, s.composite as unknown as Partial<ISettings>);
            each(t => t.setConfig(config()));
          };
          s.changed.connect(apply);
          apply();
        })
        .catch(err => console.warn('jupyter-ctr: terminal settings', err));
    }

    const open = async (spec: ITerminalSpec, activate = true): Promise<MainAreaWidget<CtrTerminal>> => {
      const content = new CtrTerminal(client, spec, config());
      const main = new MainAreaWidget({ content });
      main.id = content.panelId;
      main.title.icon = terminalIcon;
      main.addClass('jp-ctr-terminal-panel');
      content.title.changed.connect(() => {
        main.title.label = content.title.label;
        main.title.caption = content.title.caption;
        main.title.className = content.title.className; // the REC dot on the tab
      });
      content.sessionChanged.connect(() => app.commands.notifyCommandChanged());
      main.title.label = content.title.label;
      main.title.caption = content.title.caption;
      content.stateChanged.connect(() => {
        void tracker.save(main);
        changed.emit();
      });
      main.disposed.connect(() => changed.emit());
      await tracker.add(main);
      if (!main.isAttached) {
        app.shell.add(main, 'main');
      }
      if (activate) {
        app.shell.activateById(main.id);
      }
      changed.emit();
      return main;
    };

    app.commands.addCommand(CommandIDs.open, {
      label: args => (containerArg(args) ? 'Open Terminal' : 'Open Terminal in a Container…'),
      caption: 'A shell in the container (bash if present, else sh), in a new tab',
      icon: args => (args.isPalette ? undefined : terminalIcon),
      execute: async args => {
        let container = containerArg(args);
        let command = typeof args.command === 'string' ? args.command : '';
        let user = typeof args.user === 'string' ? args.user : settings.user;
        if (Array.isArray(args.command)) {
          command = '';
        }
        if (!container || args.ask === true) {
          const target = await askTarget(client, 'Open a terminal', {
            container,
            running: true,
            command: command || settings.shell,
            user,
            terminal: true
          });
          if (!target) {
            return;
          }
          ({ container, command, user } = target);
        } else if (!command) {
          command = settings.shell;
        }
        let argv: string[];
        try {
          argv = Array.isArray(args.command) ? (args.command as string[]).map(String) : splitCommand(command);
        } catch (err) {
          await showErrorMessage('Open terminal', String(err));
          return;
        }
        await app.restored; // a tab added while the layout is restored would be dropped
        return open({ container, mode: 'exec', command: argv, user, record: args.record === true });
      }
    });

    app.commands.addCommand(CommandIDs.attach, {
      label: args => (containerArg(args) ? 'Attach to Main Process…' : 'Attach to a Container’s Main Process…'),
      caption: "The container's own stdin and output: Ctrl-C and resizes reach its main process (PID 1)",
      execute: async args => {
        let container = containerArg(args);
        if (!container) {
          const target = await askTarget(client, 'Attach to the main process', { running: true, terminal: false });
          if (!target) {
            return;
          }
          container = target.container;
        }
        const ok = await showDialog({
          title: `Attach to the main process of ${container}?`,
          body:
            'What you type goes to the container’s main process (PID 1): Ctrl-C interrupts it ' +
            'and may stop the container, and resizing the tab resizes its terminal. ' +
            `Detach with ${settings.detachKeys || 'the detach keys (none set)'} to leave it running. ` +
            'For a shell beside it, use "Open Terminal" instead.',
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Attach' })]
        });
        if (!ok.button.accept) {
          return;
        }
        await app.restored;
        return open({ container, mode: 'attach', command: [], user: '' });
      }
    });

    /** The live session to watch: the one named by `execId`, else one of the container's
     * (asked when there are several; said when there is none). */
    const pickSession = async (name: string, execId: string): Promise<IWatchTarget | null> => {
      let list: Partial<ILiveSession>[] = [];
      try {
        list = (await client.json<Partial<ILiveSession>[]>('api/sessions', {}, name ? { container: name } : {})) ?? [];
      } catch (err) {
        if (!execId) {
          await showErrorMessage('Watch terminal', err instanceof CtrApiError ? err.message : String(err));
          return null;
        } // a named session needs the list only for its container's name
      }
      if (execId) {
        const s = list.find(x => x.ExecID === execId);
        return { container: s?.ContainerName || name || execId.slice(0, 12), execId, label: '' };
      }
      const choices = sessionsOf(list, name);
      if (!choices.length) {
        await showDialog({
          title: 'Watch terminal',
          body: name ? `No terminal session is open in ${name}.` : 'No terminal session is open.',
          buttons: [Dialog.okButton()]
        });
        return null;
      }
      if (choices.length === 1) {
        return choices[0];
      }
      const result = await InputDialog.getItem({
        title: `Watch which terminal${name ? ` of ${name}` : ''}?`,
        items: choices.map(c => c.label),
        okLabel: 'Watch'
      });
      if (!result.button.accept || result.value === null) {
        return null;
      }
      return choices.find(c => c.label === result.value) ?? null;
    };

    app.commands.addCommand(CommandIDs.watch, {
      label: args => (containerArg(args) || args.execId ? 'Watch Terminal' : 'Watch a Container Terminal…'),
      caption: 'A read-only live view of a terminal session (another client of the same session); "Take over" to type',
      execute: async args => {
        const name = containerArg(args);
        const execId = typeof args.execId === 'string' ? args.execId : '';
        const target = await pickSession(name, execId);
        if (!target) {
          return;
        }
        await app.restored;
        return open({
          container: target.container,
          mode: target.execId ? 'exec' : 'attach',
          command: [],
          user: '',
          execId: target.execId ?? undefined,
          shadow: true
        });
      }
    });

    app.commands.addCommand(CommandIDs.record, {
      label: () => recordButton(current()?.sessionInfo ?? null).label,
      caption: () => recordButton(current()?.sessionInfo ?? null).title,
      isEnabled: () => recordButton(current()?.sessionInfo ?? null).enabled,
      isVisible: () => recordButton(current()?.sessionInfo ?? null).shown,
      execute: () => {
        const t = current();
        const b = recordButton(t?.sessionInfo ?? null);
        t?.setRecording(b.on);
      }
    });

    app.commands.addCommand(CommandIDs.takeOver, {
      label: () => shadowButton(current()?.sessionInfo ?? null, !!current()?.spec.shadow)?.label ?? 'Take Over',
      isVisible: () => !!current()?.spec.shadow,
      execute: () => current()?.shadowAction()
    });

    app.commands.addCommand(CommandIDs.restore, {
      label: 'Restore Container Terminal',
      execute: args => open(args.spec as unknown as ITerminalSpec, false)
    });

    const current = (): CtrTerminal | null => tracker.currentWidget?.content ?? null;
    app.commands.addCommand(CommandIDs.copy, {
      label: 'Copy',
      isEnabled: () => !!current()?.term.hasSelection(),
      execute: () => void current()?.copySelection()
    });
    app.commands.addCommand(CommandIDs.paste, {
      label: 'Paste',
      execute: () => current()?.paste()
    });
    app.commands.addCommand(CommandIDs.restart, {
      label: args => (current()?.spec.mode === 'attach' || args.attach ? 'Reattach' : 'Restart Shell'),
      execute: () => current()?.restart()
    });
    const selector = '.jp-ctr-terminal';
    app.contextMenu.addItem({ command: CommandIDs.copy, selector, rank: 1 });
    app.contextMenu.addItem({ command: CommandIDs.paste, selector, rank: 2 });
    app.contextMenu.addItem({ command: CommandIDs.restart, selector, rank: 3 });
    app.contextMenu.addItem({ command: CommandIDs.record, selector, rank: 4 });
    app.contextMenu.addItem({ command: CommandIDs.takeOver, selector, rank: 5 });

    palette?.addItem({ command: CommandIDs.open, category: 'Containers', args: { isPalette: true } });
    palette?.addItem({ command: CommandIDs.attach, category: 'Containers', args: { isPalette: true } });
    palette?.addItem({ command: CommandIDs.watch, category: 'Containers', args: {} });
    palette?.addItem({ command: CommandIDs.record, category: 'Containers' });

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.restore,
        args: w => ({ spec: { ...w.content.spec } }),
        name: w => w.content.spec.key ?? w.id
      });
    }

    running?.add({
      name: 'Container Terminals',
      supportsMultipleViews: false,
      running: () => {
        const items: IRunningSessions.IRunningItem[] = [];
        tracker.forEach(w => {
          const t = w.content;
          items.push({
            icon: () => terminalIcon,
            label: () => w.title.label,
            labelTitle: () => w.title.caption,
            detail: () =>
              t.ended ? t.status : t.spec.shadow ? 'watching' : t.spec.mode === 'attach' ? 'attached' : 'running',
            open: () => app.shell.activateById(w.id),
            shutdown: () => t.shutdown()
          });
        });
        return items;
      },
      shutdownAll: () => each(t => t.shutdown()),
      refreshRunning: () => changed.emit(),
      runningChanged: changed,
      shutdownLabel: 'Close',
      shutdownAllLabel: 'Close All',
      shutdownAllConfirmationText: 'Close all container terminals? Shells get end-of-input and exit; attached containers keep running.'
    });
  }
};
