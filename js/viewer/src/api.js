// window.clsmap: the scripting handle for automation (tests, screenshots, benchmarks). Read-mostly and
// stable (README.md, "Scripting the map page"): it exposes nothing that the page does not show; setMode
// does what a click on a mode button does.
//
// Every map drawn in this window has its own API (mapApi, below) and is listed, in the order the maps
// were opened, in
//   window.clsmap.instances: [{ element, opened }]
// element: the element the map is drawn in (a map page's <html>; in a notebook, the element a widget's
// output draws its shadow root in: the first child of the output's element); opened: a promise of the
// map's API, resolved once the map is drawn, rejected with the error if it could not open. A notebook
// widget's output leaves the list when it is removed. On a map page (one map), window.clsmap is also that
// map's API, once it is drawn (window.clsmap.ready is true then); a page that could not open sets
// window.clsmapError (the error's stack) instead.
//
// A map's API:
//   ready (true), firstFrameMs and timings (when each phase of the first draw ended, ms since navigation
//   start), scriptStartMs, switchTimings (the phases of the last colour-mode switch), n (rows),
//   misclassified (rows with a ring), mode() and modes() (the colour mode and those available),
//   setMode(key), screenPosition(row) ([x, y] in the window), rowOfId(id) (-1: none), hovered() (the row
//   under the mouse, -1: none), linked() (the row hovered in the other map of a compare page),
//   isWrong(row), selection() (ids, row order), searchCount(), hidden() and legend() (the legend's hidden
//   groups and its entries), regions() (ids), neighbours(row), shownRow() (the row whose neighbours are
//   listed), splits(), splitOf(row), hiddenSplits(), and player: the training dynamics player (null on a
//   map): steps(), step(), setStep(k), play(), pause(), playing(), idle() (a promise, resolved once the
//   last step change is drawn), carto (the cartography scatter: n, selection() rows, screenPosition(row)).
import { legendEntries } from './modes.js';
import { T0 } from './timing.js';

export const mapApi = ({ data, state, ring, available, plot, canvas, timings, setMode, hovered, regions, near, shown,
  linked, player }) => ({
  ready: true,
  firstFrameMs: timings.marks.frame ?? performance.now(),
  scriptStartMs: T0,
  timings: timings.marks,
  switchTimings: timings.switchMarks,
  n: data.n,
  misclassified: ring.H,
  mode: () => state.mode,
  modes: () => available.map((m) => m.key),
  setMode,
  screenPosition: (row) => {
    const [x, y] = plot.scatterplot.getScreenPosition(ring.pointOfRow(row));
    const rect = canvas.getBoundingClientRect();
    return [rect.left + x, rect.top + y];
  },
  rowOfId: (id) => {
    for (let i = 0; i < data.n; i += 1) if (data.idOf(i) === id) return i;
    return -1;
  },
  hovered,
  linked,
  isWrong: (row) => data.isWrong(row),
  selection: () => state.selection.map(data.idOf),
  searchCount: () => state.searchCount,
  hidden: () => [...state.hidden].map((g) => state.spec.names[g]),
  legend: () => legendEntries(state.spec),
  regions: () => regions.map((r) => r.region_id),
  neighbours: (row) => (near ? near.of(row).map(({ row: r, similarity }) => ({ row: r, id: data.idOf(r), similarity }))
    : null),
  shownRow: () => shown(),
  splits: () => state.splitNames || [],
  splitOf: (row) => data.splitOf(row),
  hiddenSplits: () => [...state.hiddenSplits].map((k) => state.splitNames[k]),
  player,
});

const handle = () => {
  if (!window.clsmap) window.clsmap = {};
  if (!Array.isArray(window.clsmap.instances)) window.clsmap.instances = [];
  return window.clsmap;
};

// lists a map (element, opened: see above) in window.clsmap.instances; returns what takes it off the list
export const registerMap = (element, opened) => {
  const entry = { element, opened };
  opened.catch(() => {});  // (its failure is shown in the map and told to whoever awaits `opened`)
  handle().instances.push(entry);
  return () => {
    const { instances } = handle();
    if (instances.includes(entry)) instances.splice(instances.indexOf(entry), 1);
  };
};

// a map page: window.clsmap is its map's API too
export const exposePage = (api) => Object.assign(handle(), api);
