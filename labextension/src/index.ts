import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { containersPlugin } from './sidebar';
import { terminalPlugin } from './terminal/plugin';
import { logsPlugin } from './logs/plugin';
import { rowActionsPlugin } from './rowactions';
import { specCellPlugin } from './speccellplugin';
import { timelinePlugin } from './timeline/plugin';
import { widgetsPlugin } from './widgets/plugin';

/** The extension's plugins; each feature lives in its own module. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [containersPlugin];
plugins.push(terminalPlugin); // terminal tabs (src/terminal/)
plugins.push(logsPlugin); // log view tabs (src/logs/)
plugins.push(rowActionsPlugin); // the sidebar rows' Terminal and Logs buttons
plugins.push(widgetsPlugin); // notebook widgets, an ipywidgets module (src/widgets/)
plugins.push(specCellPlugin); // the rows' Edit as cell / Clone as cell (%%ctr spec)
plugins.push(timelinePlugin); // checkpoint timeline tabs and the rows' Timeline (src/timeline/)

export default plugins;

export { IContainersSidebar } from './tokens';
export type { IRowAction } from './tokens';
