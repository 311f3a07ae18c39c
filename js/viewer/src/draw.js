// The scatterplot (regl-scatterplot, WebGL): the points with their rings, colours, filter.
import KDBush from 'kdbush';
import createScatterplot from 'regl-scatterplot';
import { ringColour } from './modes.js';
import { colourValues, keptPoints, pointBuffers, pointColours, pointSizes, ringedFirst } from './points.js';

export const background = (theme) => (theme === 'dark' ? '#15181c' : '#ffffff');

// the points as regl-scatterplot's patched draw() takes them (js/viewer/build.mjs): an array-like whose
// `columns` ({x, y, z, w}, typed arrays) fill its state texture in one loop; point i, when the
// scatterplot asks for one (lasso, hover), is [x, y, z, w] made then
export const columnPoints = (columns) => {
  const n = columns.x.length;
  const index = (key) => {
    if (typeof key !== 'string') return -1;
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < n ? i : -1;
  };
  return new Proxy(new Array(n), {
    get(target, key) {
      if (key === 'columns') return columns;
      const i = index(key);
      if (i < 0) return Reflect.get(target, key);
      return [columns.x[i], columns.y[i], columns.z[i], columns.w[i]];
    },
    has: (target, key) => index(key) >= 0 || Reflect.has(target, key),
  });
};

// regl-scatterplot's options: the points' size and opacity are the render model's
// (clsmap.render.model.point_sizes: meta.point_size, meta.point_opacity); theme: the page's when it opens
const plotOptions = (canvas, meta, ring, theme) => ({
  canvas,
  pointSize: pointSizes(meta.point_size),
  sizeBy: 'valueB',
  colorBy: 'valueA',
  opacity: meta.point_opacity,
  opacityInactiveScale: 0.5,
  pointSizeSelected: Math.max(1, meta.point_size * 0.5),
  pointOutlineWidth: 1.5,
  backgroundColor: background(theme),
  lassoColor: [0.1, 0.5, 1, 1],
  lassoMinDelay: 0,
  lassoMinDist: 2,
  lassoClearEvent: 'lassoEnd',
  showReticle: false,
  deselectOnDblClick: true,
  annotationLineColor: [0.9, 0.35, 0.1, 0.9],
  annotationLineWidth: 2,
  // the rows with a ring first, so that the other points cover their rings as far as they overlap
  pointOrder: ringedFirst(ring),
});

// the spatial index (hover, lasso) of the points at x, y: built from the coordinates, reused by every redraw
const spatialIndexOf = (x, y) => {
  const kd = new KDBush(x.length, 16, Float32Array);
  for (let i = 0; i < x.length; i += 1) kd.add(x[i], y[i]);
  kd.finish();
  return kd.data;
};

// the first frame with the points: 'drawing' is published synchronously in the frame, so
// isPointsDrawn then says whether this frame rendered them
const firstFrameOf = (scatterplot) => {
  let done = false;
  const drawn = new Promise((resolve) => {
    const sub = scatterplot.subscribe('drawing', () => {
      if (done || !scatterplot.get('isPointsDrawn')) return;
      done = true;
      scatterplot.unsubscribe(sub);
      resolve();
    });
  });
  // a frame is due after draw(); should none come, ask for one
  const nudge = (ms) => setTimeout(() => { if (!done) scatterplot.redraw(); }, ms);
  return { drawn, nudge };
};

// show only the points of the groups (and splits) that are not hidden, and of the rows allowed (if given)
const pointFilter = (scatterplot, cols, ring) => {
  let filtered = false;
  return (spec, hidden, hiddenSplits = new Set(), allowed = null) => {
    const keep = keptPoints(ring, spec, hidden, hiddenSplits, (r) => (cols.split ? cols.split[r] : -1), allowed);
    // (unfilter rebuilds the index of every point and draws a frame: only when some points are filtered out)
    if (keep === null) {
      if (filtered) scatterplot.unfilter();
      filtered = false;
    } else {
      scatterplot.filter(keep);
      filtered = true;
    }
  };
};

// the map's scatterplot: { scatterplot, redraw, filter, firstFrame, rebuild }
export const createPlot = (canvas, meta, cols, ring, theme) => {
  const scatterplot = createScatterplot(plotOptions(canvas, meta, ring, theme));
  let valueB;
  let spatialIndex;
  let moved = true;  // positions (or shapes) changed since the last draw
  // the player builds the index again when the positions change; it draws held-out rows larger
  // (cols.train: 1 train, 0 held out) and gives a ring only to the rows wrong at the step drawn
  const rebuild = () => {
    const big = cols.train ? Uint8Array.from(cols.train, (s) => 1 - s) : null;
    ({ valueB } = pointBuffers(ring, cols.x, cols.y, cols.correct, big));
    spatialIndex = spatialIndexOf(cols.x, cols.y);
    moved = true;
  };
  rebuild();

  // draw the points in the colours of `spec` (modes.modeSpec) and the theme; with `transition` (ms)
  // the points move from where they were (the player's steps), keeping the selection. When only the
  // colours change, the scatterplot's colour indices are rewritten in place (setValueA: one texture
  // upload) instead of drawing the points again
  // (`mark`, optional: told when the colours are handed over)
  const redraw = async (spec, theme, transition = 0, mark = () => {}) => {
    const valueA = colourValues(ring, spec);
    const colours = pointColours(spec, ringColour(meta.colors, theme));
    scatterplot.set({
      pointColor: colours,
      pointColorActive: colours,
      pointColorHover: colours,
      backgroundColor: background(theme),
    });
    if (!moved && transition === 0) {
      const drawn = scatterplot.setValueA(valueA);
      mark('colours');
      if (await drawn) return;
    }
    const options = { zDataType: 'categorical', wDataType: 'categorical', preventFilterReset: true, spatialIndex };
    if (transition > 0) {
      Object.assign(options, { transition: true, transitionDuration: transition, transitionEasing: 'cubicInOut',
        select: scatterplot.get('selectedPoints') });
    }
    moved = false;
    await scatterplot.draw(columnPoints({ x: cols.x, y: cols.y, z: valueA, w: valueB }), options);
  };

  const filter = pointFilter(scatterplot, cols, ring);
  return { scatterplot, redraw, filter, firstFrame: () => firstFrameOf(scatterplot), rebuild };
};
