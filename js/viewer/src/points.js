// The points handed to the scatterplot: misclassified rows get a ring, a copy of the point drawn
// first (underneath), larger (valueB 1) and in the ring colour. Points 0..H-1 are the rings, point
// H + r is row r. Pure: no DOM, no regl.

export const ringLayout = (correct) => {
  const n = correct.length;
  const wrongRows = [];
  for (let i = 0; i < n; i += 1) if (correct[i] === 0) wrongRows.push(i);
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

// x, y and size (valueB: 1 for a ring, 0 for a point) of every point
export const pointBuffers = (ring, x, y) => {
  const { n, H, wrongRows } = ring;
  const xs = new Float32Array(H + n);
  const ys = new Float32Array(H + n);
  const valueB = new Float32Array(H + n);
  for (let k = 0; k < H; k += 1) {
    xs[k] = x[wrongRows[k]];
    ys[k] = y[wrongRows[k]];
    valueB[k] = 1;
  }
  xs.set(x, H);
  ys.set(y, H);
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

// the points to keep when the legend hides some groups (a ring goes with its row); null: all
export const keptPoints = (ring, spec, hidden) => {
  if (hidden.size === 0) return null;
  const { n, H, wrongRows } = ring;
  const keep = [];
  for (let k = 0; k < H; k += 1) if (!hidden.has(spec.group[wrongRows[k]])) keep.push(k);
  for (let i = 0; i < n; i += 1) if (!hidden.has(spec.group[i])) keep.push(H + i);
  return keep;
};
