// window.clsmap: the page's scripting handle for automation (tests, screenshots, benchmarks).
// Read-mostly and stable (README.md, "Scripting the map page"): it exposes nothing that the page
// does not show; setMode does what a click on a mode button does.
import { legendEntries } from './modes.js';
import { marks, switchMarks, T0 } from './timing.js';

export const exposeApi = ({ data, state, ring, available, plot, canvas, setMode, hovered, regions, near, shown, linked, player }) => {
  window.clsmap = {
    ready: true,
    firstFrameMs: marks.frame ?? performance.now(),
    scriptStartMs: T0,
    timings: marks,
    switchTimings: switchMarks,
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
    // the training dynamics player (null on a map): steps(), step(), setStep(k), play(), pause(), playing(),
    // idle() (a promise, resolved once the last step change is drawn), carto (the cartography scatter:
    // n, selection() rows, screenPosition(row))
    player,
  };
};
