// clsmap's interactive map. Reads the metadata and the gzip'd columnar payload embedded in the page,
// draws the points with regl-scatterplot, and builds every piece of UI with DOM APIs: user data
// (texts, labels, ids, names) only ever reaches the page through textContent / createTextNode.
import KDBush from 'kdbush';
import createScatterplot from 'regl-scatterplot';

const T0 = performance.now();
const $ = (id) => document.getElementById(id);

const el = (tag, props = {}, children = []) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'className') node.className = value;
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

// ---------------------------------------------------------------- data

const base64ToBytes = async (b64) => {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(b64);
  try {
    const response = await fetch(`data:application/octet-stream;base64,${b64}`);
    return new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
    return out;
  }
};

const gunzip = async (bytes) => {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
};

const TYPED = {
  f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array, u2: Uint16Array, i1: Int8Array, u1: Uint8Array,
};

// lengths -> offsets (n + 1 entries)
const offsetsOf = (lengths) => {
  const out = new Uint32Array(lengths.length + 1);
  let total = 0;
  for (let i = 0; i < lengths.length; i += 1) {
    total += lengths[i];
    out[i + 1] = total;
  }
  return out;
};

const loadData = async () => {
  const meta = JSON.parse($('clsmap-meta').textContent);
  const packed = $('clsmap-data').textContent;
  mark('script');
  const bytes = await base64ToBytes(packed);
  mark('base64');
  // the payload is a series of gzip members (compressed in parallel); each decodes to its own range
  const raw = new Uint8Array(meta.raw_length);
  await Promise.all(meta.members.map(async (m) => {
    const part = await gunzip(bytes.subarray(m.offset, m.offset + m.length));
    raw.set(new Uint8Array(part), m.raw_offset);
  }));
  mark('gunzip');
  const cols = {};
  for (const c of meta.columns) {
    const Typed = TYPED[c.dtype];
    cols[c.name] = new Typed(raw.buffer, c.offset, c.length);
  }
  cols.text_off = offsetsOf(cols.text_len);
  cols.id_off = offsetsOf(cols.id_len);
  return { meta, cols };
};

// ---------------------------------------------------------------- app

const MODES = [
  { key: 'label', name: 'true label', needs: 'labels' },
  { key: 'pred', name: 'predicted', needs: 'predictions' },
  { key: 'correct', name: 'correct / wrong', needs: 'both' },
  { key: 'confidence', name: 'confidence', needs: 'predictions' },
  { key: 'confusion', name: 'confusion pair', needs: 'both' },
];
const CONF_GROUPS = 10;

const marks = {};
const mark = (name) => { marks[name] = Math.round(performance.now()); };

const start = async () => {
  const { meta, cols } = await loadData();
  mark('decoded');
  const n = meta.n;
  const textOff = cols.text_off;
  const idOff = cols.id_off;
  // texts and ids become strings when first needed (hover, search), not before the first frame
  const decoder = new TextDecoder('utf-8');
  let texts = null;
  let ids = null;
  const textOf = (i) => {
    if (texts === null) texts = decoder.decode(cols.text);
    return texts.slice(textOff[i], textOff[i + 1]);
  };
  const idOf = (i) => {
    if (ids === null) ids = decoder.decode(cols.id);
    return ids.slice(idOff[i], idOff[i + 1]);
  };
  const labelOf = (i) => (cols.label[i] < 0 ? '' : meta.classes[cols.label[i]]);
  const predOf = (i) => (cols.pred[i] < 0 ? '' : meta.classes[cols.pred[i]]);
  const confOf = (i) => cols.conf[i];

  // misclassified rows get a halo: a copy drawn first (underneath), larger, in the halo colour
  const wrongRows = [];
  for (let i = 0; i < n; i += 1) if (cols.correct[i] === 0) wrongRows.push(i);
  const H = wrongRows.length;
  const rowOfPoint = (p) => (p < H ? wrongRows[p] : p - H);
  const pointOfRow = (r) => r + H;

  const available = MODES.filter((m) => {
    if (m.needs === 'labels') return meta.has_labels;
    if (m.needs === 'predictions') return meta.has_predictions;
    return meta.has_labels && meta.has_predictions;
  });
  const state = {
    mode: available.length ? available[0].key : 'none',
    hidden: new Set(),
    selection: [],
    theme: meta.theme === 'auto'
      ? (window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')
      : meta.theme,
    searchCount: null,
  };
  document.documentElement.dataset.theme = state.theme;

  // ---------------- title bar
  const t = meta.title;
  $('title').textContent = t.source || t.model || 'clsmap';  // the whole name or path, as given
  // the facts are written once, in Python, as in the figures' titles
  const facts = t.facts.concat(meta.truncated ? [`texts cut at ${meta.max_text_chars} chars`] : []);
  $('facts').textContent = facts.join(' · ');

  // ---------------- colour modes: per point a colour index (valueA) and a legend group
  // every colour comes from the page's metadata (clsmap's render model): the page chooses none
  const C = meta.colors;
  const CONF_BINS = C.confidence.length;
  const P = meta.classes.length;
  const pairIndex = new Map(); // label*P+pred -> pair group
  meta.pairs.forEach((pair, k) => pairIndex.set(pair.label * P + pair.pred, k + 1));

  const modeSpec = (mode) => {
    const group = new Int32Array(n);
    const colour = new Int32Array(n);
    let names;
    let colours;
    const grey = state.theme === 'dark' ? C.unknown_dark : C.unknown_light;
    if (mode === 'label' || mode === 'pred') {
      const codes = mode === 'label' ? cols.label : cols.pred;
      const base = meta.classes;
      names = base.concat(['(none)']);
      colours = C.classes.concat([grey]);
      for (let i = 0; i < n; i += 1) {
        const g = codes[i] < 0 ? base.length : codes[i];
        group[i] = g;
        colour[i] = g;
      }
    } else if (mode === 'correct') {
      names = ['correct', 'misclassified', 'unknown'];
      colours = [C.correct, C.wrong, grey];
      for (let i = 0; i < n; i += 1) {
        const c = cols.correct[i];
        const g = c === 1 ? 0 : c === 0 ? 1 : 2;
        group[i] = g;
        colour[i] = g;
      }
    } else if (mode === 'confidence') {
      names = [];
      for (let g = 0; g < CONF_GROUPS; g += 1) {
        names.push(`${(g / CONF_GROUPS).toFixed(1)}–${((g + 1) / CONF_GROUPS).toFixed(1)}`);
      }
      names.push('(none)');
      colours = C.confidence.concat([grey]);
      for (let i = 0; i < n; i += 1) {
        const c = cols.conf[i];
        if (Number.isNaN(c)) {
          group[i] = CONF_GROUPS;
          colour[i] = CONF_BINS;
        } else {
          group[i] = Math.min(CONF_GROUPS - 1, Math.floor(c * CONF_GROUPS));
          colour[i] = Math.min(CONF_BINS - 1, Math.floor(c * CONF_BINS));
        }
      }
    } else if (mode === 'confusion') {
      names = ['correct or unlabelled'].concat(meta.pairs.map((pair) => pair.name));
      colours = [grey].concat(meta.pairs.map((pair) => pair.colour));
      for (let i = 0; i < n; i += 1) {
        const g = cols.correct[i] === 0 ? pairIndex.get(cols.label[i] * P + cols.pred[i]) : 0;
        group[i] = g;
        colour[i] = g;
      }
    } else {
      names = ['points'];
      colours = [state.theme === 'dark' ? C.points_dark : C.points_light];
    }
    const counts = new Array(names.length).fill(0);
    for (let i = 0; i < n; i += 1) counts[group[i]] += 1;
    const legendColours = mode === 'confidence'
      ? names.map((_, g) => (g < CONF_GROUPS ? colours[Math.floor(((g + 0.5) / CONF_GROUPS) * CONF_BINS)] : grey))
      : colours;
    return { group, colour, names, colours, legendColours, counts };
  };

  // ---------------- scatterplot
  const canvas = $('canvas');
  const pointSize = meta.point_size;
  const haloColour = () => (state.theme === 'dark' ? C.ring_dark : C.ring_light);
  const background = () => (state.theme === 'dark' ? '#15181c' : '#ffffff');
  const scatterplot = createScatterplot({
    canvas,
    pointSize: [pointSize, pointSize + Math.max(2.5, pointSize * 0.45)],
    sizeBy: 'valueB',
    colorBy: 'valueA',
    opacity: n > 200000 ? 0.75 : 0.9,
    opacityInactiveScale: 0.5,
    pointSizeSelected: Math.max(1, pointSize * 0.5),
    pointOutlineWidth: 1.5,
    backgroundColor: background(),
    lassoColor: [0.1, 0.5, 1, 1],
    lassoMinDelay: 0,
    lassoMinDist: 2,
    lassoClearEvent: 'lassoEnd',
    showReticle: false,
    deselectOnDblClick: true,
    annotationLineColor: [0.9, 0.35, 0.1, 0.9],
    annotationLineWidth: 2,
  });

  const xs = new Float32Array(H + n);
  const ys = new Float32Array(H + n);
  const valueB = new Float32Array(H + n);
  for (let k = 0; k < H; k += 1) {
    xs[k] = cols.x[wrongRows[k]];
    ys[k] = cols.y[wrongRows[k]];
    valueB[k] = 1;
  }
  xs.set(cols.x, H);
  ys.set(cols.y, H);
  let spec = null;
  // the spatial index (hover, lasso) is built once from the typed arrays and reused by every redraw
  const kd = new KDBush(H + n, 16, Float32Array);
  for (let i = 0; i < H + n; i += 1) kd.add(xs[i], ys[i]);
  kd.finish();
  const spatialIndex = kd.data;

  const pointColours = () => spec.colours.concat([haloColour()]);

  const redraw = async () => {
    const valueA = new Float32Array(H + n);
    const haloIndex = spec.colours.length;
    valueA.fill(haloIndex, 0, H);
    for (let i = 0; i < n; i += 1) valueA[H + i] = spec.colour[i];
    scatterplot.set({
      pointColor: pointColours(),
      pointColorActive: pointColours(),
      pointColorHover: pointColours(),
      backgroundColor: background(),
    });
    await scatterplot.draw(
      { x: xs, y: ys, valueA, valueB },
      { zDataType: 'categorical', wDataType: 'categorical', preventFilterReset: true, spatialIndex },
    );
  };

  const applyFilter = () => {
    if (state.hidden.size === 0) {
      scatterplot.unfilter();
      return;
    }
    const keep = [];
    for (let k = 0; k < H; k += 1) if (!state.hidden.has(spec.group[wrongRows[k]])) keep.push(k);
    for (let i = 0; i < n; i += 1) if (!state.hidden.has(spec.group[i])) keep.push(H + i);
    scatterplot.filter(keep);
  };

  // ---------------- legend
  const renderLegend = () => {
    const box = $('legend');
    box.replaceChildren();
    const order = spec.names.map((_, g) => g).filter((g) => spec.counts[g] > 0);
    if (state.mode === 'confusion') order.sort((a, b) => (a === 0 ? -1 : b === 0 ? 1 : spec.counts[b] - spec.counts[a]));
    for (const g of order) {
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
    $('legend-title').textContent = `colour: ${MODES.find((m) => m.key === state.mode)?.name ?? 'points'}`;
  };
  const toggle = (g) => {
    if (state.hidden.has(g)) state.hidden.delete(g);
    else state.hidden.add(g);
    applyFilter();
    renderLegend();
  };
  const isolate = (g) => {
    const onlyThis = state.hidden.size === spec.names.length - 1 && !state.hidden.has(g);
    state.hidden = new Set(onlyThis ? [] : spec.names.map((_, k) => k).filter((k) => k !== g));
    applyFilter();
    renderLegend();
  };
  $('show-all').addEventListener('click', () => {
    state.hidden.clear();
    applyFilter();
    renderLegend();
  });

  const setMode = async (mode) => {
    state.mode = mode;
    state.hidden.clear();
    spec = modeSpec(mode);
    for (const b of document.querySelectorAll('#modes button')) b.classList.toggle('on', b.dataset.mode === mode);
    await redraw();
    scatterplot.unfilter();
    renderLegend();
  };
  const modeBox = $('modes');
  for (const m of available) {
    modeBox.append(el('button', { text: m.name, 'data-mode': m.key, onclick: () => setMode(m.key) }));
  }

  // ---------------- tooltip and detail panel
  const tooltip = $('tooltip');
  let mouse = [0, 0];
  canvas.addEventListener('mousemove', (event) => {
    mouse = [event.clientX, event.clientY];
    if (!tooltip.hidden) placeTooltip();
  });
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
  const fmtConf = (c) => (Number.isNaN(c) ? '' : c.toFixed(3));
  const TIP_CHARS = 280;
  const describe = (r, full) => {
    const text = textOf(r);
    const shown = full || text.length <= TIP_CHARS ? text : `${text.slice(0, TIP_CHARS)}…`;
    const fields = [['id', idOf(r)]];
    if (meta.has_labels) fields.push(['true', labelOf(r)]);
    if (meta.has_predictions) fields.push(['pred', predOf(r)], ['confidence', fmtConf(confOf(r))]);
    if (cols.correct[r] === 0) fields.push(['', 'misclassified']);
    const dl = el('div', { className: 'fields' });
    for (const [k, v] of fields) {
      dl.append(el('div', {}, [el('b', { text: k ? `${k}: ` : '' }), el('span', { text: v })]));
    }
    return [el('div', { className: 'text', text: shown }), dl];
  };
  let hovered = -1;
  scatterplot.subscribe('pointOver', (p) => {
    hovered = rowOfPoint(p);
    tooltip.replaceChildren(...describe(hovered, false));
    tooltip.hidden = false;
    placeTooltip();
  });
  scatterplot.subscribe('pointOut', () => {
    hovered = -1;
    tooltip.hidden = true;
  });
  const showDetail = (r) => {
    const box = $('detail');
    box.hidden = false;
    $('detail-body').replaceChildren(...describe(r, true));
  };
  $('detail-close').addEventListener('click', () => {
    $('detail').hidden = true;
  });

  // ---------------- selection
  const rowsOfPoints = (points) => {
    const seen = new Uint8Array(n);
    const rows = [];
    for (const p of points) {
      const r = rowOfPoint(p);
      if (!seen[r]) {
        seen[r] = 1;
        rows.push(r);
      }
    }
    rows.sort((a, b) => a - b);
    return rows;
  };
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
  const renderSelection = () => {
    const rows = state.selection;
    const panel = $('selection');
    panel.hidden = rows.length === 0;
    $('sel-count').textContent = `${rows.length.toLocaleString('en-US')} selected`;
    const hists = $('sel-hists');
    hists.replaceChildren();
    if (meta.has_labels) hists.append(histogram('true label', rows, labelOf));
    if (meta.has_predictions) hists.append(histogram('predicted', rows, predOf));
    const body = $('sel-rows');
    body.replaceChildren();
    for (const r of rows.slice(0, TABLE_ROWS)) {
      const tr = el('tr', { 'data-row': String(r) }, [
        el('td', { text: idOf(r) }),
        el('td', { text: labelOf(r) }),
        el('td', { text: predOf(r) }),
        el('td', { text: fmtConf(confOf(r)) }),
        el('td', { className: 'cell-text', text: textOf(r) }),
      ]);
      if (cols.correct[r] === 0) tr.className = 'wrong';
      tr.addEventListener('click', () => showDetail(r));
      body.append(tr);
    }
    $('sel-more').textContent = rows.length > TABLE_ROWS ? `first ${TABLE_ROWS} shown; the CSV has all` : '';
  };
  const csvCell = (value) => {
    let s = String(value);
    // a leading = + - @ would make spreadsheets evaluate the cell
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const selectionCsv = () => {
    const lines = [['id', 'label', 'pred', 'confidence', 'correct', 'text'].join(',')];
    for (const r of state.selection) {
      const c = cols.correct[r];
      lines.push([idOf(r), labelOf(r), predOf(r), fmtConf(confOf(r)), c < 0 ? '' : c === 1 ? 'true' : 'false', textOf(r)]
        .map(csvCell).join(','));
    }
    return `${lines.join('\r\n')}\r\n`;
  };
  $('sel-csv').addEventListener('click', () => {
    const blob = new Blob(['\ufeff', selectionCsv()], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: 'clsmap-selection.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  $('sel-copy').addEventListener('click', async () => {
    const textIds = state.selection.map(idOf).join('\n');
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
    state.selection = rowsOfPoints(points);
    // a lasso also catches the rings of misclassified points: keep the points themselves selected
    if (points.some((p) => p < H)) scatterplot.select(state.selection.map(pointOfRow), { preventEvent: true });
    if (state.selection.length === 1) showDetail(state.selection[0]);
    renderSelection();
  });
  scatterplot.subscribe('deselect', () => {
    state.selection = [];
    renderSelection();
  });

  // ---------------- search: substring (case-insensitive) or regex over texts and ids
  const searchBox = $('search');
  const runSearch = () => {
    const q = searchBox.value;
    const status = $('search-count');
    status.classList.remove('error');
    if (!q) {
      state.searchCount = null;
      status.textContent = '';
      scatterplot.deselect();
      return;
    }
    let re;
    try {
      const source = $('regex').checked ? q : q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      re = new RegExp(source, 'i');
    } catch (err) {
      status.textContent = 'invalid regex';
      status.classList.add('error');
      return;
    }
    const hits = [];
    for (let i = 0; i < n; i += 1) {
      if (re.test(textOf(i)) || re.test(idOf(i))) hits.push(i);
    }
    state.searchCount = hits.length;
    status.textContent = `${hits.length.toLocaleString('en-US')} match${hits.length === 1 ? '' : 'es'}`;
    if (hits.length) scatterplot.select(hits.map(pointOfRow));
    else scatterplot.deselect();
  };
  let searchTimer = null;
  searchBox.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, n > 100000 ? 350 : 120);
  });
  searchBox.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      clearTimeout(searchTimer);
      runSearch();
    }
  });
  $('regex').addEventListener('change', runSearch);

  // ---------------- tools, theme
  const setTool = (tool) => {
    scatterplot.set({ mouseMode: tool === 'pan' ? 'panZoom' : 'lasso', lassoType: tool === 'box' ? 'rectangle' : 'freeform' });
    for (const b of document.querySelectorAll('#tools button')) b.classList.toggle('on', b.dataset.tool === tool);
  };
  for (const b of document.querySelectorAll('#tools button')) b.addEventListener('click', () => setTool(b.dataset.tool));
  $('reset-view').addEventListener('click', () => scatterplot.reset());
  $('theme').addEventListener('click', async () => {
    state.theme = state.theme === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = state.theme;
    const hidden = new Set(state.hidden);
    spec = modeSpec(state.mode);
    await redraw();
    state.hidden = hidden;
    applyFilter();
    renderLegend();
    drawRegionLabels();
  });

  // ---------------- confusion regions (analysis/regions.json)
  const overlay = $('overlay');
  const regions = meta.regions || [];
  let lastView = null;
  const toScreen = (x, y) => {
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    const v = lastView;
    let px = v ? v[0] * x + v[4] * y + v[12] : x;
    const py = v ? v[1] * x + v[5] * y + v[13] : y;
    px /= w / h;
    return [(w * (px + 1)) / 2, h * (0.5 - py / 2)];
  };
  const drawRegionLabels = () => {
    const ctx = overlay.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (overlay.width !== Math.round(w * dpr) || overlay.height !== Math.round(h * dpr)) {
      overlay.width = Math.round(w * dpr);
      overlay.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!$('show-regions').checked) return;
    ctx.font = 'bold 12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const region of regions) {
      const [sx, sy] = toScreen(region.cx, region.cy);
      const label = `#${region.region_id}`;
      ctx.lineWidth = 3;
      ctx.strokeStyle = state.theme === 'dark' ? '#000' : '#fff';
      ctx.strokeText(label, sx, sy);
      ctx.fillStyle = C.region;
      ctx.fillText(label, sx, sy);
    }
  };
  const drawRegions = () => {
    if (!regions.length || !$('show-regions').checked) {
      scatterplot.clearAnnotations();
    } else {
      scatterplot.drawAnnotations(regions.map((r) => ({ vertices: r.polygon, lineColor: [0.9, 0.34, 0.18, 0.95], lineWidth: 2 })));
    }
    drawRegionLabels();
  };
  if (regions.length) {
    $('regions').hidden = false;
    const list = $('region-list');
    for (const r of regions) {
      const pct = Number.isFinite(r.error_rate) ? `${(100 * r.error_rate).toFixed(0)} % wrong` : '';
      const item = el('div', { className: 'region-item', role: 'button', 'data-region': String(r.region_id) }, [
        el('b', { text: `#${r.region_id} ` }),
        el('span', { text: `${r.true_label ?? ''} → ${r.pred_label ?? ''}` }),
        el('span', { className: 'count', text: ` n=${r.n ?? ''} ${pct}` }),
      ]);
      item.addEventListener('click', () => {
        const xsR = r.polygon.map((p) => p[0]);
        const ysR = r.polygon.map((p) => p[1]);
        const x0 = Math.min(...xsR);
        const y0 = Math.min(...ysR);
        const size = Math.max(Math.max(...xsR) - x0, Math.max(...ysR) - y0, 0.02);
        scatterplot.zoomToArea({ x: x0 - size * 0.25, y: y0 - size * 0.25, width: size * 1.5, height: size * 1.5 },
          { transition: true });
        const box = $('detail');
        box.hidden = false;
        const examples = el('ul', {}, (r.examples || []).slice(0, 5).map((e) => el('li', { text: String(e) })));
        $('detail-body').replaceChildren(
          el('div', { className: 'fields' }, [
            el('div', { text: `region #${r.region_id}: ${r.true_label ?? ''} → ${r.pred_label ?? ''}` }),
            el('div', { text: `n ${r.n ?? ''}, errors ${r.n_errors ?? ''}, purity ${r.purity ?? ''}` }),
          ]),
          examples,
        );
      });
      list.append(item);
    }
    $('show-regions').addEventListener('change', drawRegions);
  }
  scatterplot.subscribe('view', ({ view }) => {
    lastView = view;
    if (regions.length) drawRegionLabels();
  });
  window.addEventListener('resize', () => { if (regions.length) drawRegionLabels(); });

  // ---------------- first draw
  spec = modeSpec(state.mode);
  mark('coloured');
  for (const b of document.querySelectorAll('#modes button')) b.classList.toggle('on', b.dataset.mode === state.mode);
  // the first frame with the points: 'drawing' is published synchronously in the frame, so
  // isPointsDrawn then says whether this frame rendered them
  let firstFrameDone = false;
  const firstFrame = new Promise((resolve) => {
    const sub = scatterplot.subscribe('drawing', () => {
      if (firstFrameDone || !scatterplot.get('isPointsDrawn')) return;
      firstFrameDone = true;
      scatterplot.unsubscribe(sub);
      resolve();
    });
  });
  await redraw();
  mark('drawn');
  // a frame is due after draw(); should none come, ask for one
  setTimeout(() => { if (!firstFrameDone) scatterplot.redraw(); }, 1000);
  renderLegend();
  if (regions.length) {
    lastView = scatterplot.get('cameraView');
    drawRegions();
  }
  await firstFrame;
  mark('frame');
  $('loading').hidden = true;

  // a small hook for tests and scripts; it exposes nothing that the page does not show
  window.clsmap = {
    ready: true,
    firstFrameMs: performance.now(),
    scriptStartMs: T0,
    timings: marks,
    n,
    misclassified: H,
    mode: () => state.mode,
    modes: () => available.map((m) => m.key),
    setMode,
    screenPosition: (row) => {
      const [x, y] = scatterplot.getScreenPosition(pointOfRow(row));
      const rect = canvas.getBoundingClientRect();
      return [rect.left + x, rect.top + y];
    },
    rowOfId: (id) => {
      for (let i = 0; i < n; i += 1) if (idOf(i) === id) return i;
      return -1;
    },
    hovered: () => hovered,
    isWrong: (row) => cols.correct[row] === 0,
    selection: () => state.selection.map(idOf),
    searchCount: () => state.searchCount,
    hidden: () => [...state.hidden].map((g) => spec.names[g]),
    legend: () => spec.names.map((name, g) => ({ name, count: spec.counts[g] })).filter((e) => e.count > 0),
    regions: () => regions.map((r) => r.region_id),
  };
};

start().catch((err) => {
  const box = $('loading');
  box.hidden = false;
  box.textContent = `clsmap could not open this map: ${err && err.message ? err.message : err}`;
  window.clsmapError = String(err && err.stack ? err.stack : err);
});
