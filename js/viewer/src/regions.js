// Confusion regions (analysis/regions.json): outlines as scatterplot annotations, numbered labels
// on an overlay canvas, and a list in the side panel (a click zooms to the region and describes it).
import { el } from './dom.js';

// "#2" and, under it, the region's first keywords, on a box of the background's colour; while `shown()`
const labelPainter = (regions, { meta, state }, shown) => (ctx, toScreen) => {
  if (!regions.length || !shown()) return;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const dark = state.theme === 'dark';
  // the page's own font stack (with the embedded CJK face first when the page carries one), so that a
  // Hangul or CJK keyword is drawn with the glyphs the page embedded, not as a missing-glyph box
  const family = getComputedStyle(ctx.canvas).fontFamily || 'system-ui, sans-serif';
  for (const region of regions) {
    const [sx, sy] = toScreen(region.cx, region.cy);
    const lines = [[`#${region.region_id}`, `bold 12px ${family}`]];
    if (region.keywords && region.keywords.length) {
      lines.push([region.keywords.slice(0, 3).join(' · '), `600 11px ${family}`]);
    }
    const widths = lines.map(([text, font]) => {
      ctx.font = font;
      return ctx.measureText(text).width;
    });
    const w = Math.max(...widths) + 8;
    const h = 14 * lines.length + 4;
    ctx.fillStyle = dark ? 'rgba(21,24,28,0.8)' : 'rgba(255,255,255,0.8)';
    ctx.fillRect(sx - w / 2, sy - 9, w, h);
    ctx.fillStyle = meta.colors.region;
    lines.forEach(([text, font], i) => {
      ctx.font = font;
      ctx.fillText(text, sx, sy + 14 * i);
    });
  }
};

// "3.1× the overall rate, p = 0.005" (regions.json schema 2; empty for older files)
const strength = (r) => {
  const parts = [];
  if (Number.isFinite(r.enrichment)) parts.push(`${r.enrichment.toFixed(1)}× the overall rate`);
  if (Number.isFinite(r.p_value)) parts.push(`p = ${r.p_value < 0.001 ? r.p_value.toExponential(0) : r.p_value.toFixed(3)}`);
  return parts.join(', ');
};

// the region in the detail panel
const describe = ($, r) => {
  $('detail').hidden = false;
  const examples = el('ul', {}, (r.examples || []).slice(0, 5).map((e) => el('li', { text: String(e) })));
  $('detail-body').replaceChildren(
    el('div', { className: 'fields' }, [
      el('div', { text: `region #${r.region_id}: ${r.true_label ?? ''} → ${r.pred_label ?? ''}` }),
      el('div', { text: `n ${r.n ?? ''}, errors ${r.n_errors ?? ''}, purity ${Number.isFinite(r.purity) ? r.purity.toFixed(2) : ''}` }),
      el('div', { text: strength(r) }),
      ...(r.keywords && r.keywords.length ? [el('div', {}, [el('b', { text: 'keywords: ' }),
        el('span', { text: r.keywords.join(' · ') })])] : []),
    ]),
    examples,
  );
};

const zoomTo = (scatterplot, r) => {
  const xsR = r.polygon.map((p) => p[0]);
  const ysR = r.polygon.map((p) => p[1]);
  const x0 = Math.min(...xsR);
  const y0 = Math.min(...ysR);
  const size = Math.max(Math.max(...xsR) - x0, Math.max(...ysR) - y0, 0.02);
  scatterplot.zoomToArea({ x: x0 - size * 0.25, y: y0 - size * 0.25, width: size * 1.5, height: size * 1.5 },
    { transition: true });
};

// the region's entry in the side panel's list; onClick(r) when clicked
const listItem = (r, onClick) => {
  const pct = Number.isFinite(r.error_rate) ? `${(100 * r.error_rate).toFixed(0)} % wrong` : '';
  const times = Number.isFinite(r.enrichment) ? ` (${r.enrichment.toFixed(1)}×)` : '';
  const item = el('div', { className: 'region-item', role: 'button', 'data-region': String(r.region_id) }, [
    el('b', { text: `#${r.region_id} ` }),
    el('span', { text: `${r.true_label ?? ''} → ${r.pred_label ?? ''}` }),
    el('span', { className: 'count', text: ` n=${r.n ?? ''} ${pct}${times}` }),
  ]);
  if (r.keywords && r.keywords.length) item.append(el('div', { className: 'keywords', text: r.keywords.join(' · ') }));
  item.title = strength(r);
  item.addEventListener('click', () => onClick(r));
  return item;
};

// onDescribe: called when a region's description replaces the text in the detail panel
export const setupRegions = (app) => {
  const { $, meta, plot, overlay, onDescribe = () => {} } = app;
  const { scatterplot } = plot;
  const regions = meta.regions || [];
  const shown = () => $('show-regions').checked;
  overlay.add(labelPainter(regions, app, shown));
  const drawLabels = () => overlay.redraw();
  const draw = () => {
    if (!regions.length || !shown()) {
      scatterplot.clearAnnotations();
    } else {
      scatterplot.drawAnnotations(regions.map((r) => ({ vertices: r.polygon, lineColor: [0.9, 0.34, 0.18, 0.95], lineWidth: 2 })));
    }
    drawLabels();
  };
  if (regions.length) {
    $('regions').hidden = false;
    $('region-list').append(...regions.map((r) => listItem(r, () => {
      zoomTo(scatterplot, r);
      onDescribe();
      describe($, r);
    })));
    $('show-regions').addEventListener('change', draw);
  }
  // after the first draw: outline the regions in the initial view
  const first = () => {
    if (regions.length) draw();
  };
  return { regions, drawLabels, first };
};
