/**
 * What the widget views need from the page, set once by the plugin (the widget manager makes
 * the views, so they cannot be handed anything): the REST client on the page's server
 * connection settings (base URL, token, XSRF) and the terminal settings.
 */
import { CtrClient } from '../api';
import { ITerminalConfig } from '../terminal/widget';

interface IWidgetContext {
  client: CtrClient;
  terminalConfig: () => ITerminalConfig;
}

const defaults: ITerminalConfig = { detachKeys: 'ctrl-p,ctrl-q', fontSize: 13, cursorBlink: false, light: true };

let current: IWidgetContext | null = null;

export function setWidgetContext(context: IWidgetContext): void {
  current = context;
}

export function widgetContext(): IWidgetContext {
  current ??= { client: new CtrClient(), terminalConfig: () => ({ ...defaults }) };
  return current;
}

export const defaultTerminalConfig = (): ITerminalConfig => ({ ...defaults });
