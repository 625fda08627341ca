import { LabIcon } from '@jupyterlab/ui-components';
import { Token } from '@lumino/coreutils';

import { IContainer } from './model';

/** An extra per-row action other plugins add to the sidebar (e.g. "Open terminal", "Logs"). */
export interface IRowAction {
  /** Unique id; also the button's `data-action`. */
  id: string;
  label: string;
  icon: LabIcon;
  /** Whether the row shows it, from the container's state (default: always). */
  isVisible?: (c: IContainer) => boolean;
  /** A button on the row (default), or, with `false`, an entry of the row's "..." menu only
   * (rare actions: a row keeps to one line of buttons). Both are in the context menu. */
  inline?: boolean;
  execute: (c: IContainer) => void | Promise<void>;
}

/** The Containers sidebar, for plugins that add to it. */
export interface IContainersSidebar {
  /** Add a button to each row (after the lifecycle actions; or, with `inline: false`, an
   * entry of its "..." menu) and a context-menu entry. */
  addRowAction(action: IRowAction): void;
  /** The container of the row element `node` (or an element inside a row), if any. */
  containerAt(node: HTMLElement | undefined): IContainer | undefined;
  /** The container whose row the last context menu was opened on. */
  readonly menuContainer: IContainer | undefined;
}

export const IContainersSidebar = new Token<IContainersSidebar>(
  'jupyter-ctr:IContainersSidebar',
  'The Containers sidebar: add per-row actions.'
);
