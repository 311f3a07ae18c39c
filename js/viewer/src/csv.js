// The selection as CSV (RFC 4180, CRLF), safe to open in a spreadsheet. Pure: no DOM.
import { fmtConf } from './rows.js';

export const CSV_HEADER = ['id', 'label', 'pred', 'confidence', 'correct', 'text'];

export const csvCell = (value) => {
  let s = String(value);
  // a leading = + - @ would make spreadsheets evaluate the cell
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

const correctCell = (c) => (c < 0 ? '' : c === 1 ? 'true' : 'false');

// rows: row numbers; data: rowAccessors (idOf, labelOf, predOf, confOf, correctOf, textOf)
export const selectionCsv = (rows, data) => {
  const lines = [CSV_HEADER.join(',')];
  for (const r of rows) {
    lines.push([data.idOf(r), data.labelOf(r), data.predOf(r), fmtConf(data.confOf(r)), correctCell(data.correctOf(r)),
      data.textOf(r)].map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
};
