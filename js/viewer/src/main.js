// clsmap's interactive map. Reads the metadata and the gzip'd columnar payload embedded in the page,
// draws the points with regl-scatterplot, and builds every piece of UI with DOM APIs: user data
// (texts, labels, ids, names) only ever reaches the page through textContent / createTextNode.
// The pure parts (decode, rows, points, modes, csv, search) touch no DOM; tests/test_viewer_js.py
// runs them in chromium.
import { createPlot } from './draw.js';
import { mark, markSwitch } from './timing.js';
import { exposeApi } from './api.js';
import { markMode, setTitle, setupModeButtons, setupTools } from './bar.js';
import { decodeStages } from './decode.js';
import { setupDetail } from './detail.js';
import { $ } from './dom.js';
import { setupLegend } from './legend.js';
import { availableModes, modeSpec } from './modes.js';
import { setupNeighbours } from './nearpanel.js';
import { neighbourReader } from './neighbours.js';
import { setupOverlay } from './overlay.js';
import { ringLayout } from './points.js';
import { setupRegions } from './regions.js';
import { rowAccessors } from './rows.js';
import { setupSearch } from './searchbox.js';
import { setupSelection } from './selection.js';
import { setupSplits } from './splits.js';
import { setupLink } from './link.js';
import { startCompare } from './compare.js';
import { setupPlayer } from './player.js';
import { STEP_COLUMNS, everWrong, stepView } from './steps.js';

// the page's own data, in its <script> elements; themeHost carries data-theme
const pageInput = () => ({
  meta: JSON.parse($('clsmap-meta').textContent),
  packed: $('clsmap-data').textContent,
  themeHost: document.documentElement,
});

// draws the map and builds its controls; returns the app (widget.js syncs its selection)
export const start = async ({ meta, packed, themeHost } = pageInput()) => {
  mark('script');
  // the texts, ids and neighbours are decoded (in workers) once the points are drawn
  let framed = () => {};
  const later = new Promise((resolve) => { framed = resolve; });
  const decoded = await decodeStages(meta, packed, mark, { later });
  await decoded.first;
  const { cols } = decoded;
  mark('decoded');
  // the training dynamics player: positions, predictions and correctness per step; the last step first
  let all = null;
  if (meta.player) {
    all = {};
    for (const c of STEP_COLUMNS) all[c] = cols[c];
    Object.assign(cols, stepView(all, meta.n, meta.player.snapshots.length - 1));
  }
  const data = rowAccessors(meta, cols);
  const ring = ringLayout(cols.correct, cols.split, all ? everWrong(all.correct, meta.n) : null);
  const available = availableModes(meta);
  const state = {
    mode: available.length ? available[0].key : 'none',
    hidden: new Set(),
    hiddenSplits: new Set(),
    selection: [],
    theme: meta.theme === 'auto'
      ? (window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')
      : meta.theme,
    searchCount: null,
    spec: null,
  };
  themeHost.dataset.theme = state.theme;
  setTitle(meta);

  const canvas = $('canvas');
  const plot = createPlot(canvas, meta, cols, ring, state.theme);
  const overlay = setupOverlay({ plot, canvas });
  const near = neighbourReader(meta, cols);
  const app = { meta, data, cols, state, plot, ring, canvas, overlay };
  const specOf = (mode) => modeSpec(mode, meta, cols, state.theme);
  const legend = setupLegend(app);
  setupSplits({ ...app, cols, legend });

  const setMode = async (mode) => {
    markSwitch('start');
    state.mode = mode;
    state.hidden.clear();
    state.spec = specOf(mode);
    markSwitch('spec');
    markMode(mode);
    await plot.redraw(state.spec, state.theme, 0, markSwitch);
    markSwitch('drawn');
    legend.applyFilter();  // nothing hidden now (the player's train / held-out filter stays)
    legend.render();
    markSwitch('legend');
  };
  setupModeButtons(available, setMode);
  const detail = setupDetail(app);
  const nearPanel = setupNeighbours({ ...app, near, showDetail: detail.showDetail });
  detail.listen((r) => (r < 0 ? nearPanel.hide() : nearPanel.show(r)));
  const selection = setupSelection({ ...app, showDetail: detail.showDetail });
  setupSearch(app);
  const regions = setupRegions({ ...app, onDescribe: nearPanel.hide });
  setupTools(plot.scatterplot, async () => {
    state.theme = state.theme === 'dark' ? 'light' : 'dark';
    themeHost.dataset.theme = state.theme;
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
  overlay.start();
  regions.first();
  await frame.drawn;
  mark('frame');
  framed();
  $('loading').hidden = true;
  if (player) await player.first();
  await decoded.all;
  mark('texts');

  const link = setupLink({ ...app, setMode });
  exposeApi({ ...app, available, setMode, hovered: detail.hovered, regions: regions.regions, near,
    shown: nearPanel.focus, linked: link.linked, player: player ? player.api : null });
  return app;
};

export const showError = (err) => {
  const box = $('loading') || $('compare-loading');
  box.hidden = false;
  box.textContent = `clsmap could not open this map: ${err && err.message ? err.message : err}`;
  window.clsmapError = String(err && err.stack ? err.stack : err);
};

// a map page opens itself; a compare page links the maps in its frames; the notebook widget (widget.js)
// imports start and calls it
if (document.getElementById('clsmap-meta')) start().catch(showError);
else if (document.getElementById('clsmap-compare')) Promise.resolve().then(startCompare).catch(showError);
