// The legend: one entry per group of the colour mode, with its count; click hides/shows it,
// alt-, shift- or double-click isolates it.
import { $, el } from './dom.js';
import { isolated, legendOrder, modeName, toggled } from './modes.js';

export const setupLegend = ({ state, plot }) => {
  const applyFilter = () => plot.filter(state.spec, state.hidden, state.allowed || null);

  const render = () => {
    const { spec } = state;
    const box = $('legend');
    box.replaceChildren();
    for (const g of legendOrder(spec, state.mode)) {
      const row = el('div', {
        className: `legend-item${state.hidden.has(g) ? ' off' : ''}`,
        role: 'button',
        title: 'click: hide/show · alt/shift-click or double-click: isolate',
        'data-group': String(g),
      }, [
        el('span', { className: 'swatch', style: { background: spec.legendColours[g] } }),
        el('span', { className: 'name', text: spec.names[g] }),
        el('span', { className: 'count', text: spec.counts[g].toLocaleString('en-US') }),
      ]);
      row.addEventListener('click', (event) => {
        if (event.altKey || event.shiftKey || event.metaKey || event.ctrlKey) isolate(g);
        else toggle(g);
      });
      row.addEventListener('dblclick', () => isolate(g));
      box.append(row);
    }
    $('legend-title').textContent = `colour: ${modeName(state.mode)}`;
  };

  const setHidden = (hidden) => {
    state.hidden = hidden;
    applyFilter();
    render();
  };
  const toggle = (g) => setHidden(toggled(state.hidden, g));
  const isolate = (g) => setHidden(isolated(state.hidden, g, state.spec.names.length));
  $('show-all').addEventListener('click', () => setHidden(new Set()));

  return { render, applyFilter };
};
