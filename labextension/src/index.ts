import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { containersPlugin } from './sidebar';

/** The extension's plugins; each feature lives in its own module. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [containersPlugin];

export default plugins;

export { IContainersSidebar } from './tokens';
export type { IRowAction } from './tokens';
