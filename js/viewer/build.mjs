// Builds the interactive map's bundles with esbuild: src/clsmap/render/assets/viewer.js (one minified
// IIFE, the page's script) and assets/widget.js (the same viewer as an ES module for anywidget), and
// writes in the first line of each the sha256 of the sources they were built from:
//   /* clsmap-viewer src-sha256:<hex> */
// The hash covers build.mjs, package.json, package-lock.json and every file under src/, in the
// order of their paths relative to this folder ('/'-separated, sorted by UTF-8 bytes); for each
// file it takes the path, a NUL, the size in bytes in decimal, a NUL, then the exact bytes.
// tests/test_viewer_js.py recomputes it from the checkout: a bundle not rebuilt after a change of
// its sources fails there (run `make js`).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const OUTFILE = '../../src/clsmap/render/assets/viewer.js';
const WIDGET_OUTFILE = '../../src/clsmap/render/assets/widget.js';

const filesUnder = (dir) => readdirSync(join(root, dir), { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? filesUnder(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));

export const sourceHash = () => {
  const names = ['build.mjs', 'package.json', 'package-lock.json', ...filesUnder('src')]
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const hash = createHash('sha256');
  for (const name of names) {
    const bytes = readFileSync(join(root, name));
    hash.update(Buffer.from(`${name}\0${bytes.length}\0`, 'utf8'));
    hash.update(bytes);
  }
  return hash.digest('hex');
};

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  banner: { js: `/* clsmap-viewer src-sha256:${sourceHash()} */` },
  logLevel: 'info',
};
// the map page's script
await build({ ...common, entryPoints: ['src/main.js'], outfile: OUTFILE, format: 'iife' });
// the same viewer as an anywidget front-end module (clsmap.show in a notebook)
await build({ ...common, entryPoints: ['src/widget.js'], outfile: WIDGET_OUTFILE, format: 'esm' });
