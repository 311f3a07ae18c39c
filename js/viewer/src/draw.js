// The scatterplot (regl-scatterplot, WebGL): the points with their rings, colours, filter.
import KDBush from 'kdbush';
import createScatterplot from 'regl-scatterplot';
import { ringColour } from './modes.js';
import { colourValues, keptPoints, pointBuffers } from './points.js';

export const background = (theme) => (theme === 'dark' ? '#15181c' : '#ffffff');

// theme: the page's theme when it opens
export const createPlot = (canvas, meta, cols, ring, theme) => {
  const pointSize = meta.point_size;
  const n = meta.n;
  const scatterplot = createScatterplot({
    canvas,
    pointSize: [pointSize, pointSize + Math.max(2.5, pointSize * 0.45), 0, pointSize * 1.35],
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
    // the player draws held-out rows larger (cols.split: 1 train, 0 held out)
    const big = cols.split ? Uint8Array.from(cols.split, (s) => 1 - s) : null;
    ({ xs, ys, valueB } = pointBuffers(ring, cols.x, cols.y, cols.correct, big));
    const kd = new KDBush(ring.H + n, 16, Float32Array);
    for (let i = 0; i < ring.H + n; i += 1) kd.add(xs[i], ys[i]);
    kd.finish();
    spatialIndex = kd.data;
  };
  rebuild();

  // draw the points in the colours of `spec` (modes.modeSpec) and the theme; with `transition` (ms)
  // the points move from where they were (the player's steps), keeping the selection
  const redraw = async (spec, theme, transition = 0) => {
    const valueA = colourValues(ring, spec);
    const pointColours = () => spec.colours.concat([ringColour(meta.colors, theme)]);
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

  // show only the points of the groups that are not hidden (and of the rows allowed, if given)
  const filter = (spec, hidden, allowed = null) => {
    const keep = keptPoints(ring, spec, hidden, allowed);
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
