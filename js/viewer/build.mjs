// Builds the interactive map's bundle, src/clsmap/render/assets/viewer.js, with esbuild (one minified
// IIFE), and writes in its first line the sha256 of the sources it was built from:
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

await build({
  absWorkingDir: root,
  entryPoints: ['src/main.js'],
  outfile: OUTFILE,
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  banner: { js: `/* clsmap-viewer src-sha256:${sourceHash()} */` },
  logLevel: 'info',
});
