// What the page says about a row, from the decoded columns. Pure: no DOM.
import { stringColumn } from './decode.js';

export const fmtConf = (c) => (Number.isNaN(c) ? '' : c.toFixed(3));

// correct: 1 correct, 0 misclassified, -1 unknown (no label or no prediction)
export const rowAccessors = (meta, cols) => {
  const textOf = stringColumn(cols.text, cols.text_off);
  const idOf = stringColumn(cols.id, cols.id_off);
  return {
    n: meta.n,
    textOf,
    idOf,
    labelOf: (i) => (cols.label[i] < 0 ? '' : meta.classes[cols.label[i]]),
    predOf: (i) => (cols.pred[i] < 0 ? '' : meta.classes[cols.pred[i]]),
    confOf: (i) => cols.conf[i],
    correctOf: (i) => cols.correct[i],
    isWrong: (i) => cols.correct[i] === 0,
    splitOf: (i) => (cols.split && cols.split[i] >= 0 ? meta.splits[cols.split[i]] : ''),
  };
};
