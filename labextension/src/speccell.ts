/**
 * "Edit as cell" and "Clone as cell": the text of a `%%ctr spec NAME` cell (the container's
 * spec, service/cellspec.py on the server) and the free name a clone takes. Pure: no
 * JupyterLab imports, so node's test runner loads it.
 */

/** The magic's line and the spec below it (`--yaml` when the spec is YAML). */
export function specCell(name: string, spec: string, format: 'toml' | 'yaml' = 'toml'): string {
  const flag = format === 'yaml' ? ' --yaml' : '';
  return `%%ctr spec ${name}${flag}\n${spec.replace(/\s+$/, '')}\n`;
}

/** `NAME-copy`, else `NAME-copy-2`, `NAME-copy-3`... : the first name not in `taken`. */
export function cloneName(name: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  const base = `${name}-copy`;
  if (!names.has(base)) {
    return base;
  }
  for (let i = 2; ; i++) {
    const candidate = `${base}-${i}`;
    if (!names.has(candidate)) {
      return candidate;
    }
  }
}

/** The cell that loads the magics, put first in a notebook that has none. */
export const LOAD_EXT = '%load_ext jupyter_ctr';

/** Whether a notebook's cell sources already load the magics. */
export function loadsMagics(sources: Iterable<string>): boolean {
  for (const source of sources) {
    if (/^\s*%load_ext\s+jupyter_ctr\b/m.test(source)) {
      return true;
    }
  }
  return false;
}
