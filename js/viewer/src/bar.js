// The title bar: title and facts, colour-mode buttons, mouse tools, reset and theme. `$` finds the map's
// own elements (dom.finder).
import { el } from './dom.js';

export const setTitle = ({ $, meta }) => {
  const t = meta.title;
  $('title').textContent = t.source || t.model || 'clsmap';  // the whole name or path, as given
  // the facts are written once, in Python, as in the figures' titles
  const facts = t.facts.concat(meta.truncated ? [`texts cut at ${meta.max_text_chars} chars`] : []);
  $('facts').textContent = facts.join(' · ');
};

export const markMode = ({ $ }, mode) => {
  for (const b of $('modes').querySelectorAll('button')) b.classList.toggle('on', b.dataset.mode === mode);
};

// one button per available mode; setMode(key) is called on a click
export const setupModeButtons = ({ $ }, available, setMode) => {
  const modeBox = $('modes');
  for (const m of available) {
    modeBox.append(el('button', { text: m.name, 'data-mode': m.key, onclick: () => setMode(m.key) }));
  }
};

// pan / lasso / box, reset the view; toggleTheme() is called by the theme button
export const setupTools = ({ $, plot }, toggleTheme) => {
  const { scatterplot } = plot;
  const setTool = (tool) => {
    scatterplot.set({ mouseMode: tool === 'pan' ? 'panZoom' : 'lasso', lassoType: tool === 'box' ? 'rectangle' : 'freeform' });
    for (const b of $('tools').querySelectorAll('button')) b.classList.toggle('on', b.dataset.tool === tool);
  };
  for (const b of $('tools').querySelectorAll('button')) b.addEventListener('click', () => setTool(b.dataset.tool));
  $('reset-view').addEventListener('click', () => scatterplot.reset());
  $('theme').addEventListener('click', toggleTheme);
};
