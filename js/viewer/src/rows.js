// What the page says about a row, from the decoded columns. Pure: no DOM.
import { stringColumn } from './decode.js';

export const fmtConf = (c) => (Number.isNaN(c) ? '' : c.toFixed(3));

// correct: 1 correct, 0 misclassified, -1 unknown (no label or no prediction)
export const rowAccessors = (meta, cols) => {
  // (cols.complete: false while the texts and ids are still being decoded, see decode.decodeStages)
  const complete = () => cols.complete !== false;
  const textOf = stringColumn(cols.text, cols.text_off, complete);
  const idOf = stringColumn(cols.id, cols.id_off, complete);
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
