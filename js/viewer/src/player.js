// The training dynamics player: the step slider, play/pause with animated transitions, the train /
// held-out filter, the per-step curves, where each class formed, and the cartography scatter
// (variability x confidence of the training rows), linked to the map both ways: a lasso on either
// selects the same texts on the other. Colours come from the page's metadata (clsmap's render model).
import createScatterplot from 'regl-scatterplot';
import { background } from './draw.js';
import { el } from './dom.js';
import { curvePoints, curveScale, nearestStep, splitFilter, stepView } from './steps.js';

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
};
const W = 340;
const H = 120;
const STEP_MS = 700;   // a transition while playing
const SLIDE_MS = 250;  // a transition after the slider moved

const fmt = (v) => (v === null || v === undefined ? '–' : v.toFixed(3));

// the curves: one polyline per measure, a marker at the current step; a click picks a step
const setupCurves = ($, P, steps, go) => {
  const scale = curveScale(steps, W, H);
  const box = $('curves');
  box.setAttribute('viewBox', `0 0 ${W} ${H}`);
  box.append(svg('line', { x1: 0, x2: W, y1: scale.y(0), y2: scale.y(0), class: 'axis' }));
  box.append(svg('line', { x1: 0, x2: W, y1: scale.y(1), y2: scale.y(1), class: 'axis' }));
  for (const curve of P.curves) {
    box.append(svg('polyline', { points: curvePoints(steps, curve.values, scale), fill: 'none', stroke: curve.colour,
      'stroke-width': 1.8 }));
  }
  const marker = svg('line', { y1: 0, y2: H, class: 'marker' });
  box.append(marker);
  box.addEventListener('click', (event) => {
    const rect = box.getBoundingClientRect();
    go(nearestStep(steps, scale, ((event.clientX - rect.left) / rect.width) * W), SLIDE_MS);
  });
  const legend = $('curve-legend');
  const show = (k) => {
    marker.setAttribute('x1', scale.x(steps[k]));
    marker.setAttribute('x2', scale.x(steps[k]));
    legend.replaceChildren(...P.curves.map((curve) => el('span', { className: 'curve-item' }, [
      el('span', { className: 'swatch', style: { background: curve.colour } }),
      el('span', { text: `${curve.name} ${fmt(curve.values[k])}` }),
    ])));
  };
  const formed = $('formation');
  formed.replaceChildren(el('h4', { text: `class formed (10-NN purity ≥ ${P.formed_at}) at step` }),
    ...Object.entries(P.formation).map(([name, step]) => el('div', { className: 'small',
      text: `${name}: ${step === null ? 'not within the run' : step}` })));
  return show;
};

// the cartography scatter of the training rows, in its own canvas; lasso by dragging
const setupCartography = ({ $, meta, cols, ring, plot, theme }) => {
  const P = meta.player;
  const rows = [];
  const cartoOfRow = new Int32Array(meta.n).fill(-1);
  for (let r = 0; r < meta.n; r += 1) {
    if (cols.train[r] === 1 && !Number.isNaN(cols.cx[r])) {
      cartoOfRow[r] = rows.length;
      rows.push(r);
    }
  }
  const canvas = $('carto');
  const scatter = createScatterplot({
    canvas, pointSize: 4, pointSizeSelected: 2, pointOutlineWidth: 1.5, colorBy: 'valueA', opacity: 0.85,
    opacityInactiveScale: 0.4, backgroundColor: background(theme), lassoColor: [0.1, 0.5, 1, 1], lassoMinDelay: 0,
    lassoMinDist: 2, lassoClearEvent: 'lassoEnd', mouseMode: 'lasso', showReticle: false,
    pointColor: P.group_colours, pointColorActive: P.group_colours, pointColorHover: P.group_colours,
  });
  const x = Float32Array.from(rows, (r) => cols.cx[r]);
  const y = Float32Array.from(rows, (r) => cols.cy[r]);
  const valueA = Float32Array.from(rows, (r) => cols.cgroup[r]);
  const drawn = scatter.draw({ x, y, valueA }, { zDataType: 'categorical' });
  $('carto-legend').replaceChildren(...P.groups.map((name, g) => el('span', { className: 'curve-item' }, [
    el('span', { className: 'swatch', style: { background: P.group_colours[g] } }), el('span', { text: name })])));

  // a lasso here selects the same rows on the map (whose own handler fills the selection table)
  let fromHere = false;
  scatter.subscribe('select', ({ points }) => {
    fromHere = true;
    plot.scatterplot.select(points.map((k) => ring.pointOfRow(rows[k])));
    fromHere = false;
  });
  scatter.subscribe('deselect', () => {
    fromHere = true;
    plot.scatterplot.deselect();
    fromHere = false;
  });
  // and a selection on the map shows its training rows here
  plot.scatterplot.subscribe('select', ({ points }) => {
    if (fromHere) return;
    const ks = ring.rowsOfPoints(points).map((r) => cartoOfRow[r]).filter((k) => k >= 0);
    scatter.select(ks, { preventEvent: true });
  });
  plot.scatterplot.subscribe('deselect', () => {
    if (!fromHere) scatter.deselect({ preventEvent: true });
  });
  const setTheme = (t) => scatter.set({ backgroundColor: background(t) });
  const api = {
    n: rows.length,
    selection: () => scatter.get('selectedPoints').map((k) => rows[k]).sort((a, b) => a - b),
    screenPosition: (row) => {
      const k = cartoOfRow[row];
      if (k < 0) return null;
      const [px, py] = scatter.getScreenPosition(k);
      const rect = canvas.getBoundingClientRect();
      return [rect.left + px, rect.top + py];
    },
  };
  return { drawn, setTheme, api };
};

// app: the map's parts; all: the per-step columns whole; redrawStep(transition) redraws the map
export const setupPlayer = ({ $, meta, cols, all, state, plot, ring, legend }, redrawStep) => {
  const P = meta.player;
  const steps = P.snapshots.map((s) => s.step);
  const slider = $('step');
  slider.max = String(steps.length - 1);
  let current = steps.length - 1;
  let playing = false;
  let busy = Promise.resolve();
  let showCurves = () => {};

  const go = (k, transition = 0) => {
    busy = busy.then(async () => {
      current = Math.max(0, Math.min(steps.length - 1, k));
      slider.value = String(current);
      const s = P.snapshots[current];
      $('step-label').textContent = `step ${s.step} · epoch ${s.epoch.toFixed(2)} · ${current + 1}/${steps.length}`;
      Object.assign(cols, stepView(all, meta.n, current));
      plot.rebuild();
      await redrawStep(transition);
      showCurves(current);
    });
    return busy;
  };
  showCurves = setupCurves($, P, steps, go);

  const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
  const play = async () => {
    if (playing) return;
    playing = true;
    $('play').textContent = '❚❚';
    if (current === steps.length - 1) await go(0, 0);
    while (playing && current < steps.length - 1) {
      await go(current + 1, STEP_MS);
      await wait(STEP_MS + 150);
    }
    playing = false;
    $('play').textContent = '▶';
  };
  const pause = () => { playing = false; };
  $('play').addEventListener('click', () => (playing ? pause() : play()));
  slider.addEventListener('input', () => { pause(); go(Number(slider.value), SLIDE_MS); });
  $('split-filter').addEventListener('change', (event) => {
    state.allowed = splitFilter(cols.train, event.target.value);
    legend.applyFilter();
  });
  const carto = P.has_cartography ? setupCartography({ $, meta, cols, ring, plot, theme: state.theme }) : null;
  if (!carto) $('carto-box').hidden = true;

  return {
    first: () => go(current, 0),
    setTheme: (t) => carto && carto.setTheme(t),
    api: {
      steps: () => steps.slice(),
      step: () => current,
      setStep: (k) => { pause(); return go(k, 0); },
      play: () => { play(); },
      pause,
      playing: () => playing,
      idle: () => busy,
      carto: carto ? carto.api : null,
    },
  };
};
