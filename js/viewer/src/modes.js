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

// rows by codes (-1: none, the last group): each row's group and colour index its code
const byCodes = (codes, count, { group, colour }) => {
  for (let i = 0; i < group.length; i += 1) {
    const g = codes[i] < 0 ? count : codes[i];
    group[i] = g;
    colour[i] = g;
  }
};

// each row's group and colour index the same: g(i)
const byGroup = (n, g, { group, colour }) => {
  for (let i = 0; i < n; i += 1) {
    group[i] = g(i);
    colour[i] = group[i];
  }
};

// confidence: ten groups for the legend, the ramp's bins for the colours; NaN: '(none)'
const byConfidence = (conf, bins, { group, colour }) => {
  for (let i = 0; i < group.length; i += 1) {
    const c = conf[i];
    if (Number.isNaN(c)) {
      group[i] = CONF_GROUPS;
      colour[i] = bins;
    } else {
      group[i] = Math.min(CONF_GROUPS - 1, Math.floor(c * CONF_GROUPS));
      colour[i] = Math.min(bins - 1, Math.floor(c * bins));
    }
  }
};

// confusion pairs: label * P + pred -> pair group (1 + the pair's rank; 0: correct or unlabelled)
const byPair = ({ meta, cols }, out) => {
  const P = meta.classes.length;
  const pairIndex = new Map();
  meta.pairs.forEach((pair, k) => pairIndex.set(pair.label * P + pair.pred, k + 1));
  byGroup(meta.n, (i) => (cols.correct[i] === 0 ? pairIndex.get(cols.label[i] * P + cols.pred[i]) : 0), out);
};

const pointsColour = (C, theme) => (theme === 'dark' ? C.points_dark : C.points_light);

// per built-in mode: its groups' names and colours, each row's group and colour index written into `out`
// ({ group, colour }); `input`: { meta, cols, theme, C (meta.colors), grey (the unknown colour) }
const MODE_GROUPS = {
  label: ({ meta, cols, C, grey }, out) => {
    byCodes(cols.label, meta.classes.length, out);
    return { names: meta.classes.concat(['(none)']), colours: C.classes.concat([grey]) };
  },
  pred: ({ meta, cols, C, grey }, out) => {
    byCodes(cols.pred, meta.classes.length, out);
    return { names: meta.classes.concat(['(none)']), colours: C.classes.concat([grey]) };
  },
  correct: ({ meta, cols, C, grey }, out) => {
    byGroup(meta.n, (i) => (cols.correct[i] === 1 ? 0 : cols.correct[i] === 0 ? 1 : 2), out);
    return { names: ['correct', 'misclassified', 'unknown'], colours: [C.correct, C.wrong, grey] };
  },
  confidence: ({ cols, C, grey }, out) => {
    byConfidence(cols.conf, C.confidence.length, out);
    return { names: confidenceNames(), colours: C.confidence.concat([grey]) };
  },
  confusion: (input, out) => {
    byPair(input, out);
    const { meta, grey } = input;
    return { names: ['correct or unlabelled'].concat(meta.pairs.map((pair) => pair.name)),
      colours: [grey].concat(meta.pairs.map((pair) => pair.colour)) };
  },
  split: ({ meta, cols, C, theme }, out) => {
    byGroup(meta.n, (i) => (cols.train[i] === 1 ? 0 : 1), out);
    return { names: ['train', 'held-out'], colours: [pointsColour(C, theme), C.held_out] };
  },
  // the training rows' cartography group; held-out rows have none
  cartography: ({ meta, cols, grey }, out) => {
    const names = meta.player.groups.concat(['held-out']);
    byGroup(meta.n, (i) => (cols.cgroup[i] < 0 ? names.length - 1 : cols.cgroup[i]), out);
    return { names, colours: meta.player.group_colours.concat([grey]) };
  },
};

// the groups of a mode of the page's own (meta.extra_modes): codes in the payload column mode_<key>
const extraGroups = (extra) => ({ cols, grey }, out) => {
  byCodes(cols[`mode_${extra.key}`], extra.names.length, out);
  return { names: extra.names.concat(['(none)']), colours: extra.colours.concat([grey]) };
};

// no colour mode: every point in one group
const oneGroup = ({ C, theme }) => ({ names: ['points'], colours: [pointsColour(C, theme)] });

// { group, colour: per row; names, colours (indexed by colour), legendColours (by group), counts }
export const modeSpec = (mode, meta, cols, theme) => {
  const C = meta.colors;
  const grey = unknownColour(C, theme);
  const out = { group: new Int32Array(meta.n), colour: new Int32Array(meta.n) };
  const extra = (meta.extra_modes || []).find((m) => m.key === mode);
  const builtIn = Object.prototype.hasOwnProperty.call(MODE_GROUPS, mode) ? MODE_GROUPS[mode] : oneGroup;
  const { names, colours } = (extra ? extraGroups(extra) : builtIn)({ meta, cols, theme, C, grey }, out);
  const { group, colour } = out;
  const counts = new Array(names.length).fill(0);
  for (let i = 0; i < meta.n; i += 1) counts[group[i]] += 1;
  const bins = C.confidence.length;
  const legendColours = mode === 'confidence'
    ? names.map((_, g) => (g < CONF_GROUPS ? colours[Math.floor(((g + 0.5) / CONF_GROUPS) * bins)] : grey))
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
