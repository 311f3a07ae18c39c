// The points handed to the scatterplot: one point per row (point r is row r), its shape in valueB, a
// code of bits (SHAPE): a ring (misclassified rows: the point drawn larger, its rim in the ring colour),
// a hole (rows of a held-out split, every split but the first: drawn hollow) and big (the training
// dynamics player's held-out rows). The patched point shader (js/viewer/build.mjs) draws the ring and
// the hole from the code, so neither costs a second point. In the player the rows misclassified at the
// step drawn have a ring. The colours (valueA) index pointColours: the ring colour first, then the mode's.
// Pure: no DOM, no regl.

export const SHAPE = { RING: 1, HOLE: 2, BIG: 4 };
// a hole's diameter: HOLE times the point's body, at least HOLE_MIN pixels (the shader has them too)
export const HOLE = 0.45;
export const HOLE_MIN = 1;
// a ring adds RING times the body to the point's diameter, at least RING_MIN pixels (the shader gets the
// body back from the sprite's size: min(size - RING_MIN, size / (1 + RING)))
export const RING = 0.45;
export const RING_MIN = 2.5;

// the sprite size of each shape code (valueB 0..7): the body (larger for BIG), plus the ring's width
export const pointSizes = (size) => Array.from({ length: 8 }, (_, code) => {
  const body = code & SHAPE.BIG ? size * 1.35 : size;
  return code & SHAPE.RING ? body + Math.max(RING_MIN, body * RING) : body;
});

// correct: per row 1 / 0 / -1; split (optional): per row its split index (-1: none; 0 is drawn filled);
// ringed (optional): 1 for the rows that may get a ring (the player: those wrong at some step); default:
// the misclassified ones. H: the rows with a ring, K: the hollow ones
export const ringLayout = (correct, split = null, ringed = null) => {
  const n = correct.length;
  const base = new Uint8Array(n);
  let H = 0;
  let K = 0;
  for (let i = 0; i < n; i += 1) {
    if (ringed ? ringed[i] : correct[i] === 0) {
      base[i] |= SHAPE.RING;
      H += 1;
    }
    if (split && split[i] > 0) {
      base[i] |= SHAPE.HOLE;
      K += 1;
    }
  }
  // the rows of some points (a lasso): each row once, in row order
  const rowsOfPoints = (points) => Array.from(new Set(points)).sort((a, b) => a - b);
  return { n, H, K, base, rowsOfPoints, pointOfRow: (r) => r, rowOfPoint: (p) => p };
};

// the rows that may have a ring, in row order: the scatterplot draws them first (underneath the others)
export const ringedFirst = (ring) => {
  const out = new Int32Array(ring.H);
  let k = 0;
  for (let i = 0; i < ring.n; i += 1) if (ring.base[i] & SHAPE.RING) out[k++] = i;
  return Array.from(out);
};

// x, y (the columns themselves, no copy) and the shape code (valueB) of every point; correct (optional):
// the rows' correctness at the step drawn (a row right there has no ring); big (optional): 1 for the
// rows drawn larger
export const pointBuffers = (ring, x, y, correct = null, big = null) => {
  const { n, base } = ring;
  const valueB = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    let code = base[i];
    if (correct && correct[i] !== 0) code &= ~SHAPE.RING;
    if (big && big[i]) code |= SHAPE.BIG;
    valueB[i] = code;
  }
  return { xs: x, ys: y, valueB };
};

// the colour list of the scatterplot: the ring colour (index 0), then the mode's
export const pointColours = (spec, ring) => [ring].concat(spec.colours);

// colour index (valueA) of every point: its colour in the mode, after the ring colour
export const colourValues = (ring, spec, out = new Float32Array(ring.n)) => {
  for (let i = 0; i < ring.n; i += 1) out[i] = spec.colour[i] + 1;
  return out;
};

// the points to keep when the legend hides some groups, some splits are hidden (`splitOf(row)` gives a
// row's split index), or only the rows with allowed[row] are shown. null: all
export const keptPoints = (ring, spec, hidden, hiddenSplits = new Set(), splitOf = () => -1, allowed = null) => {
  if (hidden.size === 0 && hiddenSplits.size === 0 && allowed === null) return null;
  const keep = [];
  for (let i = 0; i < ring.n; i += 1) {
    if (!hidden.has(spec.group[i]) && !hiddenSplits.has(splitOf(i)) && (allowed === null || allowed[i])) keep.push(i);
  }
  return keep;
};
