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
import { HOLE, HOLE_MIN, RING, RING_MIN } from './src/points.js';

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

// regl-scatterplot 1.16.0 (pinned in package.json), patched as it is bundled; each patch replaces one exact
// piece of its dist/regl-scatterplot.esm.js and the build fails if a piece is not found (another version):
// - draw(points) with points.columns = {x, y, z, w} (typed arrays; points itself an array-like, see
//   draw.js) fills the state texture from the columns in one loop instead of from one array per point;
// - setValueA(z) writes new z values (the colour index) into the state texture and redraws: a colour
//   switch costs one texture upload, no draw() (no per-point work, no spatial index, no filter reset);
// - the point shaders draw each point's shape from its w value (points.js: SHAPE): bit 1 a ring in the
//   colour at index 0 of pointColor around the point's body (points.js: RING, RING_MIN), bit 2 a hole
//   (transparent, HOLE times the body, at least HOLE_MIN pixels); so a
//   misclassified or held-out row is one point, not two. The selected points' outlines stay plain;
// - the draw order (pointOrder: draw.js draws the ringed rows first) is checked with a byte per point.
const SHAPE_VARYINGS = `
varying float clsmapInner;
varying float clsmapHole;
`;
// GLSL at the end of the vertex shader's main(): the selected points' passes (global states 1 and 3) plain
// (no texture read: the body's size comes from the sprite's, the ring colour is a uniform)
const PLAIN_SHAPE = 'clsmapInner = 1.0; clsmapHole = 0.0;';
const SHAPE = `float clsmapCode = floor(state.w + 0.001);
  float clsmapRing = mod(clsmapCode, 2.0);
  float clsmapHoled = mod(floor(clsmapCode / 2.0), 2.0);
  float clsmapBody = (clsmapRing > 0.5 ? min(pointSize - ${RING_MIN.toFixed(3)}, pointSize / ${(1 + RING).toFixed(3)})
    : pointSize) * pointScale + pointSizeExtra;
  clsmapInner = clsmapBody / finalPointSize;
  clsmapHole = clsmapHoled > 0.5 ? max(${HOLE_MIN.toFixed(3)}, ${HOLE.toFixed(3)} * clsmapBody) / finalPointSize : 0.0;`;
const REGL_PATCHES = [
  // the state texture from columns
  ['    for (let i = 0; i < numNewPoints; ++i) {\n      k = i * 4;\n\n      data[k] = newPoints[i][0]; // x',
    `    const clsmapColumns = newPoints.columns;
    if (clsmapColumns) {
      const { x: cx, y: cy, z: cz, w: cw } = clsmapColumns;
      for (let i = 0; i < numNewPoints; ++i) {
        k = i * 4;
        data[k] = cx[i];
        data[k + 1] = cy[i];
        data[k + 2] = cz[i];
        data[k + 3] = cw[i];
      }
    } else for (let i = 0; i < numNewPoints; ++i) {
      k = i * 4;

      data[k] = newPoints[i][0]; // x`],
  ['    return renderer.regl.texture({\n      data,\n      shape: [stateTexRes, stateTexRes, 4],\n      type: \'float\',\n    });\n  };\n\n  const cachePoints',
    `    const clsmapTexture = renderer.regl.texture({
      data,
      shape: [stateTexRes, stateTexRes, 4],
      type: 'float',
    });
    clsmapTexture.clsmapData = data;
    return clsmapTexture;
  };

  // new z values (the colour index) of every point, in place: one upload, then a frame; false when a
  // transition is under way or the number of points differs (then draw() instead)
  const clsmapSetValueA = (values) => {
    if (isTransitioning || isDrawing || !stateTex || !stateTex.clsmapData || values.length !== numPoints) {
      return Promise.resolve(false);
    }
    const data = stateTex.clsmapData;
    for (let i = 0; i < values.length; ++i) data[i * 4 + 2] = values[i];
    stateTex({ data, shape: [stateTexRes, stateTexRes, 4], type: 'float' });
    stateTex.clsmapData = data;
    if (points.columns) points.columns.z = values;
    return new Promise((resolve) => {
      pubSub.subscribe('draw', () => resolve(true), 1);
      draw = true;
    });
  };

  const cachePoints`],
  // the draw order (pointOrder): which points are in it, in a byte per point instead of a Set
  ["    const includedSet = new Set();\n    const orderedIndices = [];\n\n    for (let i = 0; i < pointOrder.length; i++) {\n      const idx = pointOrder[i];\n      if (\n        Number.isFinite(idx) &&\n        idx >= 0 &&\n        idx < numPoints &&\n        !includedSet.has(idx)\n      ) {\n        orderedIndices.push(idx);\n        includedSet.add(idx);\n      }\n    }\n\n    // Append any missing indices in sequential order\n    for (let i = 0; i < numPoints; i++) {\n      if (!includedSet.has(i)) {\n        orderedIndices.push(i);\n      }\n    }\n",
    "    const clsmapIncluded = new Uint8Array(numPoints);\n    const orderedIndices = [];\n\n    for (let i = 0; i < pointOrder.length; i++) {\n      const idx = pointOrder[i];\n      if (Number.isInteger(idx) && idx >= 0 && idx < numPoints && !clsmapIncluded[idx]) {\n        orderedIndices.push(idx);\n        clsmapIncluded[idx] = 1;\n      }\n    }\n\n    // Append any missing indices in sequential order\n    for (let i = 0; i < numPoints; i++) {\n      if (!clsmapIncluded[i]) {\n        orderedIndices.push(i);\n      }\n    }\n"],
  ['    draw: publicDraw,\n', '    draw: publicDraw,\n    setValueA: clsmapSetValueA,\n'],
  // the shapes: vertex shader
  ['varying vec4 color;\nvarying float finalPointSize;\n\nvoid main() {\n  vec4 state = texture2D(stateTex, stateIndex);',
    `varying vec4 color;\nvarying float finalPointSize;\n${SHAPE_VARYINGS}\nvoid main() {\n  vec4 state = texture2D(stateTex, stateIndex);`],
  ['  gl_PointSize = finalPointSize;\n}\n`;',
    '  gl_PointSize = finalPointSize;\n  ${clsmapShapeOf(globalState)}\n}\n`;'],
  ['const createVertexShader = (globalState) => `',
    `const clsmapShapeOf = (globalState) => (globalState === 1 || globalState === 3 ? ${JSON.stringify(PLAIN_SHAPE)}
  : ${JSON.stringify(SHAPE)});\nconst createVertexShader = (globalState) => \``],
  // fragment shader, and its ring colour: the first colour of the state drawn
  ['varying vec4 color;\nvarying float finalPointSize;\n\nfloat linearstep',
    `varying vec4 color;\nvarying float finalPointSize;\nuniform vec4 clsmapRingColor;\n${SHAPE_VARYINGS}\nfloat linearstep`],
  ['        globalState,\n        colorTex: getColorTex,',
    `        globalState,
        clsmapRingColor: () => (globalState === 2 ? pointColorHover : globalState === 1 ? pointColorActive : pointColor)[0],
        colorTex: getColorTex,`],
  ['  gl_FragColor = vec4(color.rgb, alpha * color.a);',
    `  float clsmapInnerEdge = clsmapInner * finalPointSize;
  vec3 clsmapRgb = mix(clsmapRingColor.rgb, color.rgb,
    linearstep(clsmapInnerEdge + antiAliasing, clsmapInnerEdge - antiAliasing, sdf));
  float clsmapHoleEdge = clsmapHole * finalPointSize;
  if (clsmapHoleEdge > 0.0) alpha *= linearstep(clsmapHoleEdge - antiAliasing, clsmapHoleEdge + antiAliasing, sdf);
  gl_FragColor = vec4(clsmapRgb, alpha * color.a);`],
];
const reglPatches = {
  name: 'regl-scatterplot-patches',
  setup(b) {
    b.onLoad({ filter: /regl-scatterplot[\\/]dist[\\/]regl-scatterplot\.esm\.js$/ }, ({ path }) => {
      let code = readFileSync(path, 'utf8');
      for (const [from, to] of REGL_PATCHES) {
        const at = code.indexOf(from);
        if (at < 0 || code.indexOf(from, at + 1) >= 0) {
          throw new Error(`regl-scatterplot patch: expected exactly one ${JSON.stringify(from.slice(0, 80))}`);
        }
        code = code.slice(0, at) + to + code.slice(at + from.length);
      }
      return { contents: code, loader: 'js' };
    });
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  banner: { js: `/* clsmap-viewer src-sha256:${sourceHash()} */` },
  logLevel: 'info',
  plugins: [reglPatches],
};
// the map page's script
await build({ ...common, entryPoints: ['src/main.js'], outfile: OUTFILE, format: 'iife' });
// the same viewer as an anywidget front-end module (clsmap.show in a notebook)
await build({ ...common, entryPoints: ['src/widget.js'], outfile: WIDGET_OUTFILE, format: 'esm' });
