// The points handed to the scatterplot: misclassified rows get a ring, a copy of the point drawn
// first (underneath), larger (valueB 1) and in the ring colour; rows of a held-out split (every split
// but the first) get a hole, a smaller copy drawn last (on top, valueB 2) in the background colour, so
// they show as hollow circles. Points 0..H-1 are the rings, point H + r is row r, and points
// H + n .. H + n + K - 1 the holes. In the training dynamics player the rows misclassified at any step
// have a ring, drawn with size 0 (valueB 3) at the steps where the row is right, so that every step has
// the same points (regl-scatterplot animates between draws of as many points), and its held-out rows
// are drawn larger (valueB 4). Pure: no DOM, no regl.

// the sizes of the points by valueB (0 point, 1 ring, 2 hole, 3 hidden ring, 4 larger point)
export const pointSizes = (size) => [size, size + Math.max(2.5, size * 0.45), Math.max(1, size * 0.45), 0,
  size * 1.35];

// correct: per row 1 / 0 / -1; split (optional): per row its split index (-1: none; 0 is drawn filled);
// ringed (optional): 1 for the rows that get a ring; default: the misclassified ones
export const ringLayout = (correct, split = null, ringed = null) => {
  const n = correct.length;
  const wrongRows = [];
  for (let i = 0; i < n; i += 1) if (ringed ? ringed[i] : correct[i] === 0) wrongRows.push(i);
  const holeRows = [];
  if (split) for (let i = 0; i < n; i += 1) if (split[i] > 0) holeRows.push(i);
  const H = wrongRows.length;
  const K = holeRows.length;
  const rowOfPoint = (p) => (p < H ? wrongRows[p] : p < H + n ? p - H : holeRows[p - H - n]);
  const pointOfRow = (r) => r + H;
  const isCopy = (p) => p < H || p >= H + n;
  // the rows of some points (a lasso catches rings and holes too): each row once, in row order
  const rowsOfPoints = (points) => {
    const seen = new Uint8Array(n);
    const rows = [];
    for (const p of points) {
      const r = rowOfPoint(p);
      if (!seen[r]) {
        seen[r] = 1;
        rows.push(r);
      }
    }
    rows.sort((a, b) => a - b);
    return rows;
  };
  return { n, wrongRows, holeRows, H, K, rowOfPoint, pointOfRow, rowsOfPoints, isCopy };
};

// x, y and size (valueB, see pointSizes) of every point; correct (optional): the rows' correctness at
// the step drawn (a ring of a row right there is hidden); big (optional): 1 for the rows drawn larger
export const pointBuffers = (ring, x, y, correct = null, big = null) => {
  const { n, H, wrongRows } = ring;
  const holeRows = ring.holeRows || [];
  const total = H + n + holeRows.length;
  const xs = new Float32Array(total);
  const ys = new Float32Array(total);
  const valueB = new Float32Array(total);
  for (let k = 0; k < H; k += 1) {
    xs[k] = x[wrongRows[k]];
    ys[k] = y[wrongRows[k]];
    valueB[k] = correct && correct[wrongRows[k]] !== 0 ? 3 : 1;
  }
  xs.set(x, H);
  ys.set(y, H);
  if (big) for (let i = 0; i < n; i += 1) valueB[H + i] = big[i] ? 4 : 0;
  for (let k = 0; k < holeRows.length; k += 1) {
    xs[H + n + k] = x[holeRows[k]];
    ys[H + n + k] = y[holeRows[k]];
    valueB[H + n + k] = 2;
  }
  return { xs, ys, valueB };
};

// colour index (valueA) of every point: the rings take the colour after the mode's colours, the
// holes the one after that (the background)
export const colourValues = (ring, spec) => {
  const { n, H } = ring;
  const K = (ring.holeRows || []).length;
  const valueA = new Float32Array(H + n + K);
  valueA.fill(spec.colours.length, 0, H);
  for (let i = 0; i < n; i += 1) valueA[H + i] = spec.colour[i];
  valueA.fill(spec.colours.length + 1, H + n, H + n + K);
  return valueA;
};

// the points to keep when the legend hides some groups, some splits are hidden (`splitOf(row)` gives a
// row's split index), or only the rows with allowed[row] are shown; a ring or a hole goes with its
// row. null: all
export const keptPoints = (ring, spec, hidden, hiddenSplits = new Set(), splitOf = () => -1, allowed = null) => {
  if (hidden.size === 0 && hiddenSplits.size === 0 && allowed === null) return null;
  const { n, H, wrongRows } = ring;
  const holeRows = ring.holeRows || [];
  const shown = (r) => !hidden.has(spec.group[r]) && !hiddenSplits.has(splitOf(r)) && (allowed === null || allowed[r]);
  const keep = [];
  for (let k = 0; k < H; k += 1) if (shown(wrongRows[k])) keep.push(k);
  for (let i = 0; i < n; i += 1) if (shown(i)) keep.push(H + i);
  for (let k = 0; k < holeRows.length; k += 1) if (shown(holeRows[k])) keep.push(H + n + k);
  return keep;
};
