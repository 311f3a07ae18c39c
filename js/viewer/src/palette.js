// Colours: a categorical palette that stays distinguishable past 256 classes, and viridis.

const TAB10 = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];
const TAB20_LIGHT = [
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5',
  '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];

const hslToHex = (h, s, l) => {
  const k = (n) => (n + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (v) => Math.round(v * 255).toString(16).padStart(2, '0');
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
};

/** n distinguishable colours: tab10, tab20, then golden-ratio hues over 4 lightness/saturation rings. */
export const categorical = (n) => {
  if (n <= 10) return TAB10.slice(0, n);
  if (n <= 20) return TAB10.concat(TAB20_LIGHT).slice(0, n);
  const out = [];
  const golden = 0.618033988749895;
  for (let i = 0; i < n; i += 1) {
    const hue = (0.05 + i * golden) % 1;
    const ring = i % 4;
    const sat = [0.75, 0.55, 0.9, 0.45][ring];
    const light = [0.5, 0.38, 0.64, 0.28][ring];
    out.push(hslToHex(hue, sat, light));
  }
  return out;
};

const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];

/** n colours sampled along viridis (dark purple = low, yellow = high). */
export const viridis = (n) => {
  const out = [];
  for (let i = 0; i < n; i += 1) {
    const t = n === 1 ? 0 : (i / (n - 1)) * (VIRIDIS.length - 1);
    const j = Math.min(Math.floor(t), VIRIDIS.length - 2);
    const f = t - j;
    const c = VIRIDIS[j].map((v, k) => Math.round(v + (VIRIDIS[j + 1][k] - v) * f));
    out.push(`#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`);
  }
  return out;
};
