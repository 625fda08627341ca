import type { ITheme } from '@xterm/xterm';

/** xterm colours for JupyterLab's light and dark themes (read from the page's CSS
 * variables when set, so custom themes carry over). */
export function terminalTheme(light: boolean): ITheme {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return light
    ? {
        foreground: '#000000',
        background: v('--jp-layout-color0', '#ffffff'),
        cursor: '#616161',
        cursorAccent: '#ffffff',
        selectionBackground: 'rgba(97, 97, 97, 0.3)',
        selectionInactiveBackground: 'rgba(189, 189, 189, 0.3)'
      }
    : {
        foreground: '#ffffff',
        background: v('--jp-layout-color0', '#111111'),
        cursor: '#ffffff',
        cursorAccent: '#000000',
        selectionBackground: 'rgba(255, 255, 255, 0.3)',
        selectionInactiveBackground: 'rgba(238, 238, 238, 0.3)'
      };
}
