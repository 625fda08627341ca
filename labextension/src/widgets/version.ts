/**
 * The widget module's name and version: the npm package's. The Python widgets ask for
 * `^<version>` of `jupyter-ctr` (jupyter_ctr/widgets/base.py reads the same package.json).
 */

declare function require(path: string): unknown;

// The bundler inlines the JSON; one source of truth for the version.
const pkg = require('../../package.json') as { name: string; version: string };

export const MODULE_NAME = pkg.name;
export const MODULE_VERSION = pkg.version;
