// Colours: a categorical palette that stays distinguishable past 256 classes, and viridis.

const TAB10 = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];
const TAB20_LIGHT = [
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5',
  '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];

const hex2 = (v) => v.toString(16).padStart(2, '0');

// sRGB (0-255) -> CIELAB (D65)
const lab = ([r, g, b]) => {
  const lin = (c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29);
  const x = f((0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047);
  const y = f(0.2126 * R + 0.7152 * G + 0.0722 * B);
  const z = f((0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
};
const parse = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));

/**
 * n distinguishable colours: tab10 and tab20 first, then farthest-point sampling in CIELAB over a
 * 16-level sRGB lattice (very light and very dark colours left out: they vanish on the background
 * or look like the misclassified ring), so every new colour is as far as possible from all before.
 */
const cache = new Map();
export const categorical = (n) => {
  if (!cache.has(n)) cache.set(n, makeCategorical(n));
  return cache.get(n).slice();
};

const makeCategorical = (n) => {
  const seeds = TAB10.concat(TAB20_LIGHT);
  if (n <= seeds.length) return seeds.slice(0, n);
  const cands = [];
  for (let r = 0; r < 256; r += 17) {
    for (let g = 0; g < 256; g += 17) {
      for (let b = 0; b < 256; b += 17) {
        const L = lab([r, g, b]);
        if (L[0] >= 25 && L[0] <= 90) cands.push({ rgb: [r, g, b], lab: L, d: Infinity });
      }
    }
  }
  const out = seeds.slice();
  const take = (L) => {
    for (const c of cands) {
      const d = (c.lab[0] - L[0]) ** 2 + (c.lab[1] - L[1]) ** 2 + (c.lab[2] - L[2]) ** 2;
      if (d < c.d) c.d = d;
    }
  };
  for (const s of seeds) take(lab(parse(s)));
  while (out.length < n) {
    let best = null;
    for (const c of cands) if (!best || c.d > best.d) best = c;
    if (!best || best.d === 0) {
      // more classes than lattice colours: repeat (cannot happen below ~2,500 classes)
      out.push(out[out.length % cands.length]);
      continue;
    }
    out.push(`#${best.rgb.map(hex2).join('')}`);
    take(best.lab);
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
