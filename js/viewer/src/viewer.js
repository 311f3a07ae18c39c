// One map: decodes its payload, draws its points with regl-scatterplot and builds its controls with DOM
// APIs (user data only ever reaches the page through textContent / createTextNode). Everything a map
// has lives in the objects made here for it: its elements (found by its own `$`, dom.finder), its
// scatterplot, its state (mode, hidden groups, selection, theme), its timings. So several maps on one
// page (the outputs of notebook widgets, widget.js) stay apart; a map page (main.js) opens one.
import { mapApi } from './api.js';
import { markMode, setTitle, setupModeButtons, setupTools } from './bar.js';
import { decodeStages } from './decode.js';
import { setupDetail } from './detail.js';
import { createPlot } from './draw.js';
import { setupLegend } from './legend.js';
import { setupLink } from './link.js';
import { availableModes, modeSpec } from './modes.js';
import { setupNeighbours } from './nearpanel.js';
import { neighbourReader } from './neighbours.js';
import { setupOverlay } from './overlay.js';
import { setupPlayer } from './player.js';
import { ringLayout } from './points.js';
import { setupRegions } from './regions.js';
import { rowAccessors } from './rows.js';
import { setupSearch } from './searchbox.js';
import { setupSelection } from './selection.js';
import { setupSplits } from './splits.js';
import { STEP_COLUMNS, everWrong, stepView } from './steps.js';
import { createTimings } from './timing.js';

const preferredTheme = () => (window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches
  ? 'dark' : 'light');

// the map's data, its state and its scatterplot: `app`, which every part of the map is given
const createApp = ({ $, meta, themeHost, timings }, cols) => {
  // the training dynamics player: positions, predictions and correctness per step; the last step first
  let all = null;
  if (meta.player) {
    all = {};
    for (const c of STEP_COLUMNS) all[c] = cols[c];
    Object.assign(cols, stepView(all, meta.n, meta.player.snapshots.length - 1));
  }
  const available = availableModes(meta);
  const state = {
    mode: available.length ? available[0].key : 'none',
    hidden: new Set(),
    hiddenSplits: new Set(),
    selection: [],
    theme: meta.theme === 'auto' ? preferredTheme() : meta.theme,
    searchCount: null,
    spec: null,
  };
  themeHost.dataset.theme = state.theme;
  const ring = ringLayout(cols.correct, cols.split, all ? everWrong(all.correct, meta.n) : null);
  const canvas = $('canvas');
  const plot = createPlot(canvas, meta, cols, ring, state.theme);
  const app = { $, meta, data: rowAccessors(meta, cols), cols, all, state, plot, ring, canvas, available, timings };
  app.overlay = setupOverlay(app);
  app.near = neighbourReader(meta, cols);
  app.specOf = (mode) => modeSpec(mode, meta, cols, state.theme);
  return app;
};

// colour mode `mode`: its colours drawn, nothing hidden (the player's train / held-out filter stays)
const modeSetter = (app, legend) => async (mode) => {
  const { state, plot, timings: { markSwitch } } = app;
  markSwitch('start');
  state.mode = mode;
  state.hidden.clear();
  state.spec = app.specOf(mode);
  markSwitch('spec');
  markMode(app, mode);
  await plot.redraw(state.spec, state.theme, 0, markSwitch);
  markSwitch('drawn');
  legend.applyFilter();
  legend.render();
  markSwitch('legend');
};

// the other theme, for the map and what is drawn over it
const themeToggler = (app, { themeHost }, parts) => async () => {
  const { state, plot } = app;
  state.theme = state.theme === 'dark' ? 'light' : 'dark';
  themeHost.dataset.theme = state.theme;
  const hidden = new Set(state.hidden);
  state.spec = app.specOf(state.mode);
  await plot.redraw(state.spec, state.theme);
  state.hidden = hidden;
  parts.legend.applyFilter();
  parts.legend.render();
  parts.regions.drawLabels();
  if (parts.player) parts.player.setTheme(state.theme);
};

// the legend, splits, mode buttons, tooltip and detail panel, neighbours, selection, search, regions,
// tools and the player
const setupParts = (app, view) => {
  const { meta, state, plot } = app;
  const legend = setupLegend(app);
  setupSplits({ ...app, legend });
  const setMode = modeSetter(app, legend);
  setupModeButtons(app, app.available, setMode);
  const detail = setupDetail(app);
  const nearPanel = setupNeighbours({ ...app, showDetail: detail.showDetail });
  detail.listen((r) => (r < 0 ? nearPanel.hide() : nearPanel.show(r)));
  const selection = setupSelection({ ...app, showDetail: detail.showDetail });
  setupSearch(app);
  const regions = setupRegions({ ...app, onDescribe: nearPanel.hide });
  const parts = { legend, setMode, detail, nearPanel, selection, regions, player: null };
  setupTools(app, themeToggler(app, view, parts));
  if (meta.player) {
    parts.player = setupPlayer({ ...app, legend }, async (transition) => {
      state.spec = app.specOf(state.mode);
      await plot.redraw(state.spec, state.theme, transition);
      legend.applyFilter();
      legend.render();
      selection.render();
    });
  }
  return parts;
};

// the first frame with the points, the legend, the overlay and the regions' outlines
const drawFirst = async (app, parts) => {
  const { state, plot, timings: { mark } } = app;
  state.spec = app.specOf(state.mode);
  mark('coloured');
  markMode(app, state.mode);
  const frame = plot.firstFrame();
  await plot.redraw(state.spec, state.theme);
  mark('drawn');
  frame.nudge(1000);
  parts.legend.render();
  app.overlay.start();
  parts.regions.first();
  await frame.drawn;
  mark('frame');
};

// view: { $ (the map's element lookup, dom.finder), meta (the page's metadata), packed (the payload: base64
// text or bytes), themeHost (the element that carries data-theme) }. Resolves, once the map is drawn and
// its texts decoded, to { app, api (api.mapApi), close (what stops it: its scatterplot and listeners) }
export const openMap = async (view) => {
  const { $, meta, packed } = view;
  const timings = createTimings();
  timings.mark('script');
  // the texts, ids and neighbours are decoded (in workers) once the points are drawn
  let framed = () => {};
  const later = new Promise((resolve) => { framed = resolve; });
  const decoded = await decodeStages(meta, packed, timings.mark, { later });
  await decoded.first;
  timings.mark('decoded');
  setTitle(view);
  const app = createApp({ ...view, timings }, decoded.cols);
  const parts = setupParts(app, view);
  await drawFirst(app, parts);
  framed();
  $('loading').hidden = true;
  if (parts.player) await parts.player.first();
  await decoded.all;
  timings.mark('texts');
  const link = setupLink({ ...app, setMode: parts.setMode });
  const api = mapApi({ ...app, setMode: parts.setMode, hovered: parts.detail.hovered, regions: parts.regions.regions,
    shown: parts.nearPanel.focus, linked: link.linked, player: parts.player ? parts.player.api : null });
  const close = () => {
    app.overlay.stop();
    app.plot.scatterplot.destroy();
  };
  return { app, api, close };
};

// what a map that could not open says, in its loading box; returns the message
export const showError = ($, err) => {
  const box = $('loading') || $('compare-loading');
  const message = `clsmap could not open this map: ${err && err.message ? err.message : err}`;
  if (box) {
    box.hidden = false;
    box.textContent = message;
  }
  return message;
};
