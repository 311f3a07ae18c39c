// The splits (train, test, ...): one checkbox each, with its count and marker; unticking hides the
// split's points (and their rings and holes). The first split is drawn filled, the others hollow.
import { el } from './dom.js';

export const setupSplits = ({ $, meta, cols, state, legend }) => {
  const names = meta.splits || [];
  state.splitNames = names;
  if (names.length < 2 || !cols.split) return;
  const counts = new Array(names.length).fill(0);
  for (let i = 0; i < meta.n; i += 1) if (cols.split[i] >= 0) counts[cols.split[i]] += 1;
  const box = $('split-list');
  names.forEach((name, k) => {
    const tick = el('input', { type: 'checkbox', 'data-split': name });
    tick.checked = true;
    tick.addEventListener('change', () => {
      if (tick.checked) state.hiddenSplits.delete(k);
      else state.hiddenSplits.add(k);
      legend.applyFilter();
    });
    box.append(el('label', { className: 'split-item' }, [
      tick,
      el('span', { className: k === 0 ? 'marker filled' : 'marker hollow' }),
      el('span', { className: 'name', text: name }),
      el('span', { className: 'count', text: counts[k].toLocaleString('en-US') }),
    ]));
  });
  $('splits').hidden = false;
};
