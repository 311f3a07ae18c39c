// The tooltip (hover a point) and the detail panel (click a point or a table row).
import { el } from './dom.js';
import { fmtConf } from './rows.js';

const TIP_CHARS = 280;

export const setupDetail = ({ $, meta, data, plot, ring, canvas }) => {
  const tooltip = $('tooltip');
  let mouse = [0, 0];
  const placeTooltip = () => {
    const pad = 14;
    const w = tooltip.offsetWidth;
    const h = tooltip.offsetHeight;
    let x = mouse[0] + pad;
    let y = mouse[1] + pad;
    if (x + w > window.innerWidth) x = Math.max(0, mouse[0] - w - pad);
    if (y + h > window.innerHeight) y = Math.max(0, mouse[1] - h - pad);
    tooltip.style.left = `${x}px`;
    tooltip.style.top = `${y}px`;
  };
  canvas.addEventListener('mousemove', (event) => {
    mouse = [event.clientX, event.clientY];
    if (!tooltip.hidden) placeTooltip();
  });

  // the text (cut for the tooltip) and the fields of row r
  const describe = (r, full) => {
    const text = data.textOf(r);
    const shown = full || text.length <= TIP_CHARS ? text : `${text.slice(0, TIP_CHARS)}…`;
    const fields = [['id', data.idOf(r)]];
    if (meta.splits && meta.splits.length) fields.push(['split', data.splitOf(r)]);
    if (meta.has_labels) fields.push(['true', data.labelOf(r)]);
    if (meta.has_predictions) fields.push(['pred', data.predOf(r)], ['confidence', fmtConf(data.confOf(r))]);
    if (data.isWrong(r)) fields.push(['', 'misclassified']);
    const dl = el('div', { className: 'fields' });
    for (const [k, v] of fields) {
      dl.append(el('div', {}, [el('b', { text: k ? `${k}: ` : '' }), el('span', { text: v })]));
    }
    return [el('div', { className: 'text', text: shown }), dl];
  };

  let hovered = -1;
  plot.scatterplot.subscribe('pointOver', (p) => {
    hovered = ring.rowOfPoint(p);
    tooltip.replaceChildren(...describe(hovered, false));
    tooltip.hidden = false;
    placeTooltip();
  });
  plot.scatterplot.subscribe('pointOut', () => {
    hovered = -1;
    tooltip.hidden = true;
  });

  // told when a text is shown (its row) or the panel closed (-1)
  const listeners = [];
  const showDetail = (r) => {
    const box = $('detail');
    box.hidden = false;
    $('detail-body').replaceChildren(...describe(r, true));
    for (const listen of listeners) listen(r);
  };
  $('detail-close').addEventListener('click', () => {
    $('detail').hidden = true;
    for (const listen of listeners) listen(-1);
  });

  return { showDetail, hovered: () => hovered, listen: (fn) => listeners.push(fn) };
};
