// The points handed to the scatterplot: misclassified rows get a ring, a copy of the point drawn
// first (underneath), larger (valueB 1) and in the ring colour. Points 0..H-1 are the rings, point
// H + r is row r. In the training dynamics player the rows misclassified at any step have a ring,
// drawn with size 0 (valueB 2) at the steps where the row is right, so that every step has the same
// points (regl-scatterplot animates between draws of as many points). Pure: no DOM, no regl.

// ringed (optional): 1 for the rows that get a ring; default: the misclassified ones
export const ringLayout = (correct, ringed = null) => {
  const n = correct.length;
  const wrongRows = [];
  for (let i = 0; i < n; i += 1) if (ringed ? ringed[i] : correct[i] === 0) wrongRows.push(i);
  const H = wrongRows.length;
  const rowOfPoint = (p) => (p < H ? wrongRows[p] : p - H);
  const pointOfRow = (r) => r + H;
  // the rows of some points (a lasso catches rings too): each row once, in row order
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
  return { n, wrongRows, H, rowOfPoint, pointOfRow, rowsOfPoints };
};

// x, y and size (valueB: 0 for a point, 1 for a ring, 2 for a hidden ring, 3 for a larger point: the
// player's held-out rows, those with big[row] = 1) of every point
export const pointBuffers = (ring, x, y, correct, big = null) => {
  const { n, H, wrongRows } = ring;
  const xs = new Float32Array(H + n);
  const ys = new Float32Array(H + n);
  const valueB = new Float32Array(H + n);
  for (let k = 0; k < H; k += 1) {
    xs[k] = x[wrongRows[k]];
    ys[k] = y[wrongRows[k]];
    valueB[k] = correct[wrongRows[k]] === 0 ? 1 : 2;
  }
  xs.set(x, H);
  ys.set(y, H);
  if (big) for (let i = 0; i < n; i += 1) valueB[H + i] = big[i] ? 3 : 0;
  return { xs, ys, valueB };
};

// colour index (valueA) of every point: the rings take the colour after the mode's colours
export const colourValues = (ring, spec) => {
  const { n, H } = ring;
  const valueA = new Float32Array(H + n);
  valueA.fill(spec.colours.length, 0, H);
  for (let i = 0; i < n; i += 1) valueA[H + i] = spec.colour[i];
  return valueA;
};

// the points to keep when the legend hides some groups, or only the rows with allowed[row] are shown
// (a ring goes with its row); null: all
export const keptPoints = (ring, spec, hidden, allowed = null) => {
  if (hidden.size === 0 && allowed === null) return null;
  const { n, H, wrongRows } = ring;
  const shown = (r) => !hidden.has(spec.group[r]) && (allowed === null || allowed[r]);
  const keep = [];
  for (let k = 0; k < H; k += 1) if (shown(wrongRows[k])) keep.push(k);
  for (let i = 0; i < n; i += 1) if (shown(i)) keep.push(H + i);
  return keep;
};
