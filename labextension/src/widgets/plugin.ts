/**
 * Registers the notebook widgets (module `jupyter-ctr`) with the ipywidgets manager, in
 * JupyterLab 4 and Notebook 7 alike, and gives their views the page's server connection and
 * the terminal settings. Without the widget manager (ipywidgets not installed) it does nothing.
 */
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IThemeManager } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { CtrClient } from '../api';
import { setWidgetContext, defaultTerminalConfig } from './context';
import { MODULE_NAME, MODULE_VERSION } from './version';
import { TimelineModel, TimelineView } from './timelineview';
import * as views from './views';

const TERMINAL_SETTINGS = 'jupyter-ctr:terminal';

export const widgetsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ctr:widgets',
  description: 'Notebook widgets: ContainerPanel, ContainerList, StatsPlot, Terminal and Player.',
  autoStart: true,
  optional: [IJupyterWidgetRegistry, ISettingRegistry, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    widgets: IJupyterWidgetRegistry | null,
    registry: ISettingRegistry | null,
    themes: IThemeManager | null
  ): void => {
    if (!widgets) {
      return;
    }
    const config = defaultTerminalConfig();
    setWidgetContext({
      client: new CtrClient(app.serviceManager.serverSettings),
      terminalConfig: () => ({ ...config, light: themes?.theme ? themes.isLight(themes.theme) : true })
    });
    if (registry) {
      // the terminal tabs' settings (font size, detach keys, cursor blink) serve cells too
      void registry
        .load(TERMINAL_SETTINGS)
        .then(s => {
          const apply = (): void => {
            const c = s.composite as Record<string, unknown>;
            if (typeof c.detachKeys === 'string') {
              config.detachKeys = c.detachKeys;
            }
            if (typeof c.fontSize === 'number') {
              config.fontSize = c.fontSize;
            }
            if (typeof c.cursorBlink === 'boolean') {
              config.cursorBlink = c.cursorBlink;
            }
          };
          s.changed.connect(apply);
          apply();
        })
        .catch(err => console.warn('jupyter-ctr: terminal settings for widgets', err));
    }
    widgets.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: {
        ContainerPanelModel: views.ContainerPanelModel,
        ContainerPanelView: views.ContainerPanelView,
        ContainerListModel: views.ContainerListModel,
        ContainerListView: views.ContainerListView,
        StatsPlotModel: views.StatsPlotModel,
        StatsPlotView: views.StatsPlotView,
        TerminalModel: views.TerminalModel,
        TerminalView: views.TerminalView,
        PlayerModel: views.PlayerModel,
        PlayerView: views.PlayerView,
        TimelineModel,
        TimelineView
      }
    });
  }
};
