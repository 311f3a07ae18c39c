// The neighbours of the text in the detail panel: listed (similarity, label, prediction, text), counted
// ("neighbours agree with the label: 3 of 10") and ringed on the map. A click on one shows it in turn.
import { el } from './dom.js';
import { agreeing } from './neighbours.js';
import { fmtConf } from './rows.js';

const TEXT_CHARS = 160;

export const setupNeighbours = ({ $, meta, data, cols, near, overlay, showDetail }) => {
  let focus = -1;
  let list = [];
  const radius = Math.max(6, meta.point_size + 4);
  overlay.add((ctx, toScreen) => {
    if (focus < 0) return;
    ctx.strokeStyle = meta.colors.neighbour;
    ctx.lineWidth = 2;
    for (const { row } of list) {
      const [sx, sy] = toScreen(cols.x[row], cols.y[row]);
      ctx.beginPath();
      ctx.arc(sx, sy, radius, 0, 2 * Math.PI);
      ctx.stroke();
    }
    const [fx, fy] = toScreen(cols.x[focus], cols.y[focus]);
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(fx, fy, radius + 3, 0, 2 * Math.PI);
    ctx.stroke();
  });

  const agreementLine = (r, what, valueOf) => {
    const same = agreeing(list, r, valueOf);
    if (same === null) return [];
    return [el('div', { className: 'agree', 'data-agree': what },
      [el('b', { text: `neighbours agree with the ${what}: ` }), el('span', { text: `${same} of ${list.length}` })])];
  };

  const item = (row, similarity) => {
    const text = data.textOf(row);
    const fields = [el('span', { className: 'sim', text: similarity.toFixed(3) })];
    if (meta.has_labels) fields.push(el('span', { className: 'lab', text: data.labelOf(row) }));
    if (meta.has_predictions && data.predOf(row) !== data.labelOf(row)) {
      fields.push(el('span', { className: `pred${data.isWrong(row) ? ' wrong' : ''}`, text: `→ ${data.predOf(row)}` }));
    }
    if (meta.has_predictions) fields.push(el('span', { className: 'count', text: fmtConf(data.confOf(row)) }));
    const node = el('li', { 'data-row': String(row), role: 'button', title: data.idOf(row) }, [
      el('div', { className: 'near-fields' }, fields),
      el('div', { className: 'near-text', text: text.length > TEXT_CHARS ? `${text.slice(0, TEXT_CHARS)}…` : text }),
    ]);
    node.addEventListener('click', () => showDetail(row));
    return node;
  };

  const show = (r) => {
    if (!near) return;
    focus = r;
    list = near.of(r);
    $('near').hidden = false;
    const carried = near.stored > near.k ? ` (this page carries ${near.k} of the ${near.stored} stored)` : '';
    $('near-title').textContent = `${list.length} nearest in the vector space, cosine${carried}`;
    $('near-agree').replaceChildren(
      ...(meta.has_labels ? agreementLine(r, 'label', data.labelOf) : []),
      ...(meta.has_predictions ? agreementLine(r, 'prediction', data.predOf) : []),
    );
    $('near-list').replaceChildren(...list.map(({ row, similarity }) => item(row, similarity)));
    overlay.redraw();
  };
  const hide = () => {
    focus = -1;
    list = [];
    $('near').hidden = true;
    overlay.redraw();
  };
  return { show, hide, focus: () => focus };
};
