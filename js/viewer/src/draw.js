// The scatterplot (regl-scatterplot, WebGL): the points with their rings, colours, filter.
import KDBush from 'kdbush';
import createScatterplot from 'regl-scatterplot';
import { ringColour } from './modes.js';
import { colourValues, keptPoints, pointBuffers, pointSizes } from './points.js';

export const background = (theme) => (theme === 'dark' ? '#15181c' : '#ffffff');

// theme: the page's theme when it opens
export const createPlot = (canvas, meta, cols, ring, theme) => {
  const pointSize = meta.point_size;
  const n = meta.n;
  const scatterplot = createScatterplot({
    canvas,
    pointSize: pointSizes(pointSize),
    sizeBy: 'valueB',
    colorBy: 'valueA',
    opacity: n > 200000 ? 0.75 : 0.9,
    opacityInactiveScale: 0.5,
    pointSizeSelected: Math.max(1, pointSize * 0.5),
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
  });

  // the spatial index (hover, lasso) is built from the typed arrays and reused by every redraw; the
  // player builds it again when the positions change (rebuild)
  let xs;
  let ys;
  let valueB;
  let spatialIndex;
  const rebuild = () => {
    // the player draws held-out rows larger (cols.train: 1 train, 0 held out) and hides the rings of
    // rows right at the step drawn
    const big = cols.train ? Uint8Array.from(cols.train, (s) => 1 - s) : null;
    ({ xs, ys, valueB } = pointBuffers(ring, cols.x, cols.y, cols.correct, big));
    const kd = new KDBush(xs.length, 16, Float32Array);
    for (let i = 0; i < xs.length; i += 1) kd.add(xs[i], ys[i]);
    kd.finish();
    spatialIndex = kd.data;
  };
  rebuild();

  // draw the points in the colours of `spec` (modes.modeSpec) and the theme; with `transition` (ms)
  // the points move from where they were (the player's steps), keeping the selection
  const redraw = async (spec, theme, transition = 0) => {
    const valueA = colourValues(ring, spec);
    const pointColours = () => spec.colours.concat([ringColour(meta.colors, theme), background(theme)]);
    scatterplot.set({
      pointColor: pointColours(),
      pointColorActive: pointColours(),
      pointColorHover: pointColours(),
      backgroundColor: background(theme),
    });
    const options = { zDataType: 'categorical', wDataType: 'categorical', preventFilterReset: true, spatialIndex };
    if (transition > 0) {
      Object.assign(options, { transition: true, transitionDuration: transition, transitionEasing: 'cubicInOut',
        select: scatterplot.get('selectedPoints') });
    }
    await scatterplot.draw({ x: xs, y: ys, valueA, valueB }, options);
  };

  // show only the points of the groups (and splits) that are not hidden, and of the rows allowed (if given)
  const filter = (spec, hidden, hiddenSplits = new Set(), allowed = null) => {
    const keep = keptPoints(ring, spec, hidden, hiddenSplits, (r) => (cols.split ? cols.split[r] : -1), allowed);
    if (keep === null) scatterplot.unfilter();
    else scatterplot.filter(keep);
  };

  // the first frame with the points: 'drawing' is published synchronously in the frame, so
  // isPointsDrawn then says whether this frame rendered them
  const firstFrame = () => {
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

  return { scatterplot, redraw, filter, firstFrame, rebuild };
};
