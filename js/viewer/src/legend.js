// The legend: one entry per group of the colour mode, with its count; click hides/shows it,
// alt-, shift- or double-click isolates it.
import { el } from './dom.js';
import { isolated, legendOrder, modeName, toggled } from './modes.js';

export const setupLegend = ({ $, meta, state, plot }) => {
  const HINT = 'click: hide/show · alt/shift-click or double-click: isolate';
  // the tooltip: a class's keywords (in the true label and predicted modes) above the hint
  const tip = (g) => {
    const byClass = state.mode === 'label' || state.mode === 'pred' ? meta.keywords || {} : {};
    const name = state.spec.names[g];
    const words = Object.prototype.hasOwnProperty.call(byClass, name) && Array.isArray(byClass[name]) ? byClass[name] : [];
    return words.length ? `keywords: ${words.join(' · ')}\n${HINT}` : HINT;
  };
  const applyFilter = () => plot.filter(state.spec, state.hidden, state.hiddenSplits, state.allowed || null);

  const render = () => {
    const { spec } = state;
    const box = $('legend');
    box.replaceChildren();
    for (const g of legendOrder(spec, state.mode)) {
      const row = el('div', {
        className: `legend-item${state.hidden.has(g) ? ' off' : ''}`,
        role: 'button',
        title: tip(g),
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
    $('legend-title').textContent = `colour: ${modeName(state.mode, meta.extra_modes)}`;
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
