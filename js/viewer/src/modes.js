// Colour modes: per point a colour index and a legend group, the legend's names, colours and counts,
// and the legend's hide / show / isolate logic. Every colour comes from the page's metadata
// (clsmap's render model): the page chooses none. Pure: no DOM.

export const MODES = [
  { key: 'label', name: 'true label', needs: 'labels' },
  { key: 'pred', name: 'predicted', needs: 'predictions' },
  { key: 'correct', name: 'correct / wrong', needs: 'both' },
  { key: 'confidence', name: 'confidence', needs: 'predictions' },
  { key: 'confusion', name: 'confusion pair', needs: 'both' },
  { key: 'split', name: 'train / held-out', needs: 'player' },
  { key: 'cartography', name: 'cartography', needs: 'cartography' },
];
export const CONF_GROUPS = 10;

// the built-in modes the data allow, then the page's own (meta.extra_modes: a compare page's
// "changed", "pred A", ...: categorical codes in the payload column mode_<key>)
export const availableModes = (meta) => MODES.filter((m) => {
  if (m.needs === 'player') return Boolean(meta.player);
  if (m.needs === 'cartography') return Boolean(meta.player && meta.player.has_cartography);
  if (m.needs === 'labels') return meta.has_labels;
  if (m.needs === 'predictions') return meta.has_predictions;
  return meta.has_labels && meta.has_predictions;
}).concat((meta.extra_modes || []).map((m) => ({ key: m.key, name: m.name, extra: m })));

// a mode's name: a built-in one's, or that of the page's own mode of that key (meta.extra_modes)
export const modeName = (key, extraModes = []) => MODES.find((m) => m.key === key)?.name
  ?? extraModes.find((m) => m.key === key)?.name ?? 'points';

export const unknownColour = (colors, theme) => (theme === 'dark' ? colors.unknown_dark : colors.unknown_light);
export const ringColour = (colors, theme) => (theme === 'dark' ? colors.ring_dark : colors.ring_light);

const confidenceNames = () => {
  const names = [];
  for (let g = 0; g < CONF_GROUPS; g += 1) {
    names.push(`${(g / CONF_GROUPS).toFixed(1)}–${((g + 1) / CONF_GROUPS).toFixed(1)}`);
  }
  return names.concat(['(none)']);
};

// { group, colour: per row; names, colours (indexed by colour), legendColours (by group), counts }
export const modeSpec = (mode, meta, cols, theme) => {
  const n = meta.n;
  const C = meta.colors;
  const group = new Int32Array(n);
  const colour = new Int32Array(n);
  let names;
  let colours;
  const grey = unknownColour(C, theme);
  const confBins = C.confidence.length;
  const extra = (meta.extra_modes || []).find((m) => m.key === mode);
  if (extra) {
    const codes = cols[`mode_${extra.key}`];
    names = extra.names.concat(['(none)']);
    colours = extra.colours.concat([grey]);
    for (let i = 0; i < n; i += 1) {
      const g = codes[i] < 0 ? extra.names.length : codes[i];
      group[i] = g;
      colour[i] = g;
    }
  } else if (mode === 'label' || mode === 'pred') {
    const codes = mode === 'label' ? cols.label : cols.pred;
    const base = meta.classes;
    names = base.concat(['(none)']);
    colours = C.classes.concat([grey]);
    for (let i = 0; i < n; i += 1) {
      const g = codes[i] < 0 ? base.length : codes[i];
      group[i] = g;
      colour[i] = g;
    }
  } else if (mode === 'correct') {
    names = ['correct', 'misclassified', 'unknown'];
    colours = [C.correct, C.wrong, grey];
    for (let i = 0; i < n; i += 1) {
      const c = cols.correct[i];
      const g = c === 1 ? 0 : c === 0 ? 1 : 2;
      group[i] = g;
      colour[i] = g;
    }
  } else if (mode === 'confidence') {
    names = confidenceNames();
    colours = C.confidence.concat([grey]);
    for (let i = 0; i < n; i += 1) {
      const c = cols.conf[i];
      if (Number.isNaN(c)) {
        group[i] = CONF_GROUPS;
        colour[i] = confBins;
      } else {
        group[i] = Math.min(CONF_GROUPS - 1, Math.floor(c * CONF_GROUPS));
        colour[i] = Math.min(confBins - 1, Math.floor(c * confBins));
      }
    }
  } else if (mode === 'confusion') {
    // label * P + pred -> pair group (1 + the pair's rank; 0: correct or unlabelled)
    const P = meta.classes.length;
    const pairIndex = new Map();
    meta.pairs.forEach((pair, k) => pairIndex.set(pair.label * P + pair.pred, k + 1));
    names = ['correct or unlabelled'].concat(meta.pairs.map((pair) => pair.name));
    colours = [grey].concat(meta.pairs.map((pair) => pair.colour));
    for (let i = 0; i < n; i += 1) {
      const g = cols.correct[i] === 0 ? pairIndex.get(cols.label[i] * P + cols.pred[i]) : 0;
      group[i] = g;
      colour[i] = g;
    }
  } else if (mode === 'split') {
    names = ['train', 'held-out'];
    colours = [theme === 'dark' ? C.points_dark : C.points_light, C.held_out];
    for (let i = 0; i < n; i += 1) {
      group[i] = cols.train[i] === 1 ? 0 : 1;
      colour[i] = group[i];
    }
  } else if (mode === 'cartography') {
    // the training rows' cartography group; held-out rows have none
    names = meta.player.groups.concat(['held-out']);
    colours = meta.player.group_colours.concat([grey]);
    for (let i = 0; i < n; i += 1) {
      group[i] = cols.cgroup[i] < 0 ? names.length - 1 : cols.cgroup[i];
      colour[i] = group[i];
    }
  } else {
    names = ['points'];
    colours = [theme === 'dark' ? C.points_dark : C.points_light];
  }
  const counts = new Array(names.length).fill(0);
  for (let i = 0; i < n; i += 1) counts[group[i]] += 1;
  const legendColours = mode === 'confidence'
    ? names.map((_, g) => (g < CONF_GROUPS ? colours[Math.floor(((g + 0.5) / CONF_GROUPS) * confBins)] : grey))
    : colours;
  return { group, colour, names, colours, legendColours, counts };
};

// the legend's entries in order: groups with points; confusion pairs most frequent first
export const legendOrder = (spec, mode) => {
  const order = spec.names.map((_, g) => g).filter((g) => spec.counts[g] > 0);
  if (mode === 'confusion') order.sort((a, b) => (a === 0 ? -1 : b === 0 ? 1 : spec.counts[b] - spec.counts[a]));
  return order;
};

// click: hide or show group g
export const toggled = (hidden, g) => {
  const out = new Set(hidden);
  if (out.has(g)) out.delete(g);
  else out.add(g);
  return out;
};

// alt-click: show only g; when only g is shown already, show all again
export const isolated = (hidden, g, groups) => {
  const onlyThis = hidden.size === groups - 1 && !hidden.has(g);
  return new Set(onlyThis ? [] : Array.from({ length: groups }, (_, k) => k).filter((k) => k !== g));
};

export const legendEntries = (spec) => spec.names
  .map((name, g) => ({ name, count: spec.counts[g] })).filter((e) => e.count > 0);
