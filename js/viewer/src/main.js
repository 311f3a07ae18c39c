// clsmap's interactive map. Reads the metadata and the gzip'd columnar payload embedded in the page,
// draws the points with regl-scatterplot, and builds every piece of UI with DOM APIs: user data
// (texts, labels, ids, names) only ever reaches the page through textContent / createTextNode.
// The pure parts (decode, rows, points, modes, csv, search) touch no DOM; tests/test_viewer_js.py
// runs them in chromium.
import { createPlot } from './draw.js';
import { mark } from './timing.js';
import { exposeApi } from './api.js';
import { markMode, setTitle, setupModeButtons, setupTools } from './bar.js';
import { decodePayload } from './decode.js';
import { setupDetail } from './detail.js';
import { $ } from './dom.js';
import { setupLegend } from './legend.js';
import { availableModes, modeSpec } from './modes.js';
import { ringLayout } from './points.js';
import { setupRegions } from './regions.js';
import { rowAccessors } from './rows.js';
import { setupSearch } from './searchbox.js';
import { setupSelection } from './selection.js';
import { setupPlayer } from './player.js';
import { STEP_COLUMNS, everWrong, stepView } from './steps.js';

const start = async () => {
  const meta = JSON.parse($('clsmap-meta').textContent);
  const packed = $('clsmap-data').textContent;
  mark('script');
  const cols = await decodePayload(meta, packed, mark);
  mark('decoded');
  // the training dynamics player: positions, predictions and correctness per step; the last step first
  let all = null;
  if (meta.player) {
    all = {};
    for (const c of STEP_COLUMNS) all[c] = cols[c];
    Object.assign(cols, stepView(all, meta.n, meta.player.snapshots.length - 1));
  }
  const data = rowAccessors(meta, cols);
  const ring = ringLayout(cols.correct, all ? everWrong(all.correct, meta.n) : null);
  const available = availableModes(meta);
  const state = {
    mode: available.length ? available[0].key : 'none',
    hidden: new Set(),
    selection: [],
    theme: meta.theme === 'auto'
      ? (window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')
      : meta.theme,
    searchCount: null,
    spec: null,
  };
  document.documentElement.dataset.theme = state.theme;
  setTitle(meta);

  const canvas = $('canvas');
  const plot = createPlot(canvas, meta, cols, ring, state.theme);
  const app = { meta, data, state, plot, ring, canvas };
  const specOf = (mode) => modeSpec(mode, meta, cols, state.theme);
  const legend = setupLegend(app);

  const setMode = async (mode) => {
    state.mode = mode;
    state.hidden.clear();
    state.spec = specOf(mode);
    markMode(mode);
    await plot.redraw(state.spec, state.theme);
    legend.applyFilter();  // nothing hidden now (the player's train / held-out filter stays)
    legend.render();
  };
  setupModeButtons(available, setMode);
  const detail = setupDetail(app);
  const selection = setupSelection({ ...app, showDetail: detail.showDetail });
  setupSearch(app);
  const regions = setupRegions(app);
  setupTools(plot.scatterplot, async () => {
    state.theme = state.theme === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = state.theme;
    const hidden = new Set(state.hidden);
    state.spec = specOf(state.mode);
    await plot.redraw(state.spec, state.theme);
    state.hidden = hidden;
    legend.applyFilter();
    legend.render();
    regions.drawLabels();
    if (player) player.setTheme(state.theme);
  });
  const player = meta.player ? setupPlayer({ ...app, cols, all, legend }, async (transition) => {
    state.spec = specOf(state.mode);
    await plot.redraw(state.spec, state.theme, transition);
    legend.applyFilter();
    legend.render();
    selection.render();
  }) : null;

  // ---------------- first draw
  state.spec = specOf(state.mode);
  mark('coloured');
  markMode(state.mode);
  const frame = plot.firstFrame();
  await plot.redraw(state.spec, state.theme);
  mark('drawn');
  frame.nudge(1000);
  legend.render();
  regions.first();
  await frame.drawn;
  mark('frame');
  $('loading').hidden = true;
  if (player) await player.first();

  exposeApi({ ...app, available, setMode, hovered: detail.hovered, regions: regions.regions,
    player: player ? player.api : null });
};

start().catch((err) => {
  const box = $('loading');
  box.hidden = false;
  box.textContent = `clsmap could not open this map: ${err && err.message ? err.message : err}`;
  window.clsmapError = String(err && err.stack ? err.stack : err);
});
