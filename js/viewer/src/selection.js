// The selection (lasso, box or search): its table, histograms, CSV download and copied ids.
import { selectionCsv } from './csv.js';
import { el } from './dom.js';
import { fmtConf } from './rows.js';

const TABLE_ROWS = 500;

const histogram = (title, rows, nameOf) => {
  const counts = new Map();
  for (const r of rows) counts.set(nameOf(r), (counts.get(nameOf(r)) || 0) + 1);
  const entries = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const box = el('div', { className: 'hist' }, [el('h4', { text: title })]);
  const max = entries.length ? entries[0][1] : 1;
  for (const [name, count] of entries) {
    box.append(el('div', { className: 'bar-row' }, [
      el('span', { className: 'bar-name', text: name || '(none)' }),
      el('span', { className: 'bar', style: { width: `${(60 * count) / max}%` } }),
      el('span', { className: 'bar-count', text: String(count) }),
    ]));
  }
  return box;
};

export const setupSelection = ({ $, meta, data, state, plot, ring, showDetail }) => {
  const { scatterplot } = plot;
  const render = () => {
    const rows = state.selection;
    const panel = $('selection');
    panel.hidden = rows.length === 0;
    $('sel-count').textContent = `${rows.length.toLocaleString('en-US')} selected`;
    const hists = $('sel-hists');
    hists.replaceChildren();
    if (meta.has_labels) hists.append(histogram('true label', rows, data.labelOf));
    if (meta.has_predictions) hists.append(histogram('predicted', rows, data.predOf));
    const body = $('sel-rows');
    body.replaceChildren();
    for (const r of rows.slice(0, TABLE_ROWS)) {
      const tr = el('tr', { 'data-row': String(r) }, [
        el('td', { text: data.idOf(r) }),
        el('td', { text: data.labelOf(r) }),
        el('td', { text: data.predOf(r) }),
        el('td', { text: fmtConf(data.confOf(r)) }),
        el('td', { className: 'cell-text', text: data.textOf(r) }),
      ]);
      if (data.isWrong(r)) tr.className = 'wrong';
      tr.addEventListener('click', () => showDetail(r));
      body.append(tr);
    }
    $('sel-more').textContent = rows.length > TABLE_ROWS ? `first ${TABLE_ROWS} shown; the CSV has all` : '';
  };

  $('sel-csv').addEventListener('click', () => {
    const blob = new Blob(['\ufeff', selectionCsv(state.selection, data)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: 'clsmap-selection.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  $('sel-copy').addEventListener('click', async () => {
    const textIds = state.selection.map(data.idOf).join('\n');
    try {
      await navigator.clipboard.writeText(textIds);
    } catch (err) {
      const area = el('textarea', { style: { position: 'fixed', left: '-9999px' } });
      area.value = textIds;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    $('sel-copy').textContent = 'copied';
    setTimeout(() => { $('sel-copy').textContent = 'copy ids'; }, 1200);
  });
  $('sel-clear').addEventListener('click', () => scatterplot.deselect());

  scatterplot.subscribe('select', ({ points }) => {
    state.selection = ring.rowsOfPoints(points);
    if (state.selection.length === 1) showDetail(state.selection[0]);
    render();
  });
  scatterplot.subscribe('deselect', () => {
    state.selection = [];
    render();
  });
  return { render };
};
