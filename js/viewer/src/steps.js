// The training dynamics player's pure parts: the columns that change from step to step, the rows
// that are ever misclassified, and the curves' geometry. Pure: no DOM, no regl.

// per step (snapshot), n values each, snapshot after snapshot
export const STEP_COLUMNS = ['x', 'y', 'pred', 'conf', 'correct'];

// the columns of step k: views on the whole arrays (no copy)
export const stepView = (all, n, k) => {
  const view = {};
  for (const c of STEP_COLUMNS) view[c] = all[c].subarray(k * n, (k + 1) * n);
  return view;
};

// 1 for the rows misclassified at some step
export const everWrong = (correct, n) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < correct.length; i += 1) if (correct[i] === 0) out[i % n] = 1;
  return out;
};

// the rows allowed by the split filter ('all', 'train' or 'validation'); null: all
export const splitFilter = (split, which) => {
  if (which === 'all') return null;
  const want = which === 'train' ? 1 : 0;
  return Uint8Array.from(split, (s) => (s === want ? 1 : 0));
};

// x of each step and y of each value in a w x h box with a margin; values may be null
export const curveScale = (steps, w, h, pad = 6) => {
  const first = steps[0];
  const last = steps[steps.length - 1];
  const span = last > first ? last - first : 1;
  const x = (step) => pad + ((step - first) / span) * (w - 2 * pad);
  const y = (v) => h - pad - Math.max(-1, Math.min(1, v)) * (h - 2 * pad);  // values in [0, 1] (silhouette may dip)
  return { x, y };
};

// an SVG polyline's points for one curve, skipping missing values
export const curvePoints = (steps, values, scale) => steps
  .map((s, k) => (values[k] === null || values[k] === undefined ? null : `${scale.x(s).toFixed(1)},${scale.y(values[k]).toFixed(1)}`))
  .filter((p) => p !== null)
  .join(' ');

// the index of the step nearest to x (pixels) on the curves' axis
export const nearestStep = (steps, scale, px) => {
  let best = 0;
  for (let k = 1; k < steps.length; k += 1) if (Math.abs(scale.x(steps[k]) - px) < Math.abs(scale.x(steps[best]) - px)) best = k;
  return best;
};
