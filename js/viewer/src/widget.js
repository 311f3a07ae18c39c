// The map as a notebook widget (anywidget's front-end module; clsmap.show in Jupyter): the same viewer
// and controls as the page, drawn in a shadow root inside the cell's output so that the page's styles
// and ids stay apart from the notebook's. Its model (clsmap/render/widget.py) carries the page's
// metadata (_meta), the gzip'd payload as binary (_payload), the markup and styles of the page
// (_body, _style, _font_css) and the selection: `selected_ids`, in row order, set here when the user lassoes,
// boxes or searches, and drawn here when Python sets it. Each output (render) is a map of its own
// (viewer.openMap, its elements found in its own shadow root): several widgets, or several outputs of
// one widget, draw side by side, the outputs of one widget sharing its selection through the model.
// Each is listed in window.clsmap.instances (api.js) while it is shown.
import { registerMap } from './api.js';
import { finder } from './dom.js';
import { openMap, showError } from './viewer.js';

const bytesOf = (value) => {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
};

const sameIds = (a, b) => a.length === b.length && a.every((id, k) => id === b[k]);

// a CJK font's @font-face must be in the document to apply inside a shadow root; each subset declares
// its unicode-range, so the faces of several maps add up (each once)
const addFont = (css) => {
  if (!css) return;
  const faces = document.head.querySelectorAll('style[data-clsmap-font]');
  if ([...faces].some((face) => face.textContent === css)) return;
  const face = document.createElement('style');
  face.dataset.clsmapFont = '';
  face.textContent = css;
  document.head.append(face);
};

// the output's host element, with the page's styles and markup in its shadow root; root: the map's box
const mount = (model, el) => {
  const host = document.createElement('div');
  el.append(host);
  const shadow = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = model.get('_style');
  const root = document.createElement('div');
  root.className = 'clsmap-widget';
  root.style.height = `${model.get('height')}px`;
  // the page's own markup (map_body.html, rendered by Jinja with autoescaping: any text in it is
  // escaped); parsed inert, as the page's HTML is, and adopted; data never goes through it
  const markup = new DOMParser().parseFromString(model.get('_body'), 'text/html');
  root.append(...markup.body.childNodes);
  shadow.append(style, root);
  return { host, shadow, root };
};

// the selection both ways: the model's selected_ids drawn on the map (pull), the map's sent to the model (push)
const syncSelection = (model, { app }) => {
  const { plot, ring, data, state } = app;
  let rowOfId = null;
  const pull = () => {
    const ids = model.get('selected_ids') || [];
    if (sameIds(ids, state.selection.map(data.idOf))) return;
    if (!rowOfId) {
      rowOfId = new Map();
      for (let r = 0; r < data.n; r += 1) rowOfId.set(data.idOf(r), r);
    }
    const rows = ids.map((id) => rowOfId.get(id)).filter((r) => r !== undefined);
    if (rows.length) plot.scatterplot.select(rows.map(ring.pointOfRow));
    else plot.scatterplot.deselect();
  };
  const push = (rows) => {
    const ids = rows.map(data.idOf);
    if (sameIds(ids, model.get('selected_ids') || [])) return;
    model.set('selected_ids', ids);
    model.save_changes();
  };
  plot.scatterplot.subscribe('select', ({ points }) => push(ring.rowsOfPoints(points)));
  plot.scatterplot.subscribe('deselect', () => push([]));
  model.on('change:selected_ids', pull);
  pull();  // a selection set from Python before the map was drawn
  return () => model.off('change:selected_ids', pull);
};

const render = ({ model, el }) => {
  const { host, shadow, root } = mount(model, el);
  const $ = finder(shadow);
  addFont(model.get('_font_css'));
  const resize = () => { root.style.height = `${model.get('height')}px`; };
  model.on('change:height', resize);

  // 'auto' follows JupyterLab's theme where it says one (data-jp-theme-light), else the browser's
  const meta = model.get('_meta');
  const lab = document.body.dataset.jpThemeLight;
  const theme = meta.theme === 'auto' && lab !== undefined ? (lab === 'false' ? 'dark' : 'light') : meta.theme;
  let removed = false;
  let close = () => {};
  const opened = openMap({ $, meta: { ...meta, theme }, packed: bytesOf(model.get('_payload')), themeHost: root })
    .then((map) => {
      const unsync = syncSelection(model, map);
      close = () => {
        unsync();
        map.close();
      };
      if (removed) close();
      return map.api;
    });
  const unregister = registerMap(host, opened);
  opened.catch((err) => showError($, err));

  // anywidget calls it when the output goes
  return () => {
    if (removed) return;
    removed = true;
    model.off('change:height', resize);
    close();
    unregister();
  };
};

export default { render };
