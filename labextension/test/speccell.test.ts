import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cloneName, loadsMagics, specCell } from '../src/speccell';

void test('specCell puts the magic line above the spec', () => {
  assert.equal(specCell('web', 'image = "x"\n\n'), '%%ctr spec web\nimage = "x"\n');
  assert.equal(specCell('web', 'image: x\n', 'yaml'), '%%ctr spec web --yaml\nimage: x\n');
});

void test('cloneName takes the first free NAME-copy', () => {
  assert.equal(cloneName('web', ['web']), 'web-copy');
  assert.equal(cloneName('web', ['web', 'web-copy']), 'web-copy-2');
  assert.equal(cloneName('web', new Set(['web', 'web-copy', 'web-copy-2'])), 'web-copy-3');
});

void test('loadsMagics finds a %load_ext jupyter_ctr line', () => {
  assert.equal(loadsMagics(['import os', '  %load_ext jupyter_ctr\n%ctr ps']), true);
  assert.equal(loadsMagics(['%load_ext jupyter_ctrl', '# %load_ext other']), false);
  assert.equal(loadsMagics([]), false);
});
