// The map as a notebook widget (anywidget's front-end module; clsmap.show in Jupyter): the same viewer
// and controls as the page, drawn in a shadow root inside the cell's output so that the page's styles
// and ids stay apart from the notebook's. Its model (clsmap/render/widget.py) carries the page's
// metadata (_meta), the gzip'd payload as binary (_payload), the markup and styles of the page
// (_body, _style, _font_css) and the selection: `selected_ids`, in row order, set here when the user lassoes,
// boxes or searches, and drawn here when Python sets it.
import { setScope } from './dom.js';
import { showError, start } from './main.js';

const bytesOf = (value) => {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
};

const sameIds = (a, b) => a.length === b.length && a.every((id, k) => id === b[k]);

// the viewer's modules look their elements up in one scope: a later output of the same widget takes
// the map over, and the earlier one says so
let retireLive = null;
const fontsAdded = new Set();

const render = ({ model, el }) => {
  if (retireLive) retireLive('this map is shown in a later output of the same widget');
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
  setScope(shadow);
  // a CJK font's @font-face must be in the document to apply inside a shadow root; each subset declares
  // its unicode-range, so the faces of several maps add up
  const fontCss = model.get('_font_css');
  if (fontCss && !fontsAdded.has(fontCss)) {
    fontsAdded.add(fontCss);
    const face = document.createElement('style');
    face.textContent = fontCss;
    document.head.append(face);
  }

  let app = null;
  let retired = false;
  const pull = () => {
    if (!app) return;
    const { plot, ring, data, state } = app;
    const ids = model.get('selected_ids') || [];
    if (sameIds(ids, state.selection.map(data.idOf))) return;
    if (!app.rowOfId) {
      app.rowOfId = new Map();
      for (let r = 0; r < data.n; r += 1) app.rowOfId.set(data.idOf(r), r);
    }
    const rows = ids.map((id) => app.rowOfId.get(id)).filter((r) => r !== undefined);
    if (rows.length) plot.scatterplot.select(rows.map(ring.pointOfRow));
    else plot.scatterplot.deselect();
  };
  const push = (rows) => {
    const ids = rows.map(app.data.idOf);
    if (sameIds(ids, model.get('selected_ids') || [])) return;
    model.set('selected_ids', ids);
    model.save_changes();
  };
  model.on('change:selected_ids', pull);
  const resize = () => { root.style.height = `${model.get('height')}px`; };
  model.on('change:height', resize);

  // 'auto' follows JupyterLab's theme where it says one (data-jp-theme-light), else the browser's
  const meta = model.get('_meta');
  const lab = document.body.dataset.jpThemeLight;
  const theme = meta.theme === 'auto' && lab !== undefined ? (lab === 'false' ? 'dark' : 'light') : meta.theme;
  const opened = start({ meta: { ...meta, theme }, packed: bytesOf(model.get('_payload')), themeHost: root })
    .then((started) => {
      if (retired) return;
      app = started;
      const { scatterplot } = app.plot;
      scatterplot.subscribe('select', ({ points }) => push(app.ring.rowsOfPoints(points)));
      scatterplot.subscribe('deselect', () => push([]));
      pull();  // a selection set from Python before the map was drawn
    })
    .catch(showError);

  // anywidget calls it when the view goes; a later view of the same model calls it with a note
  const retire = (note) => {
    if (retired) return;
    retired = true;
    model.off('change:selected_ids', pull);
    model.off('change:height', resize);
    if (app) app.plot.scatterplot.destroy();
    if (typeof note === 'string') {
      root.style.height = 'auto';
      root.replaceChildren(document.createTextNode(note));
    }
    if (retireLive === retire) retireLive = null;
  };
  retireLive = retire;
  host.clsmapOpened = opened;  // for tests: resolves once the map is drawn
  return retire;
};

export default { render };
