// A map inside a compare page (meta.linked): it tells the parent page which row is hovered and which
// rows are selected, and follows what the parent relays from the other map (hover, selection, colour
// mode). Rows are the same texts in both maps (the compare page puts them in one order).

export const setupLink = ({ meta, state, plot, ring, setMode }) => {
  let linkedRow = -1;
  const handle = { linked: () => linkedRow };
  if (!meta.linked || window.parent === window) return handle;
  const { scatterplot } = plot;
  const post = (message) => window.parent.postMessage({ clsmap: true, ...message }, '*');
  scatterplot.subscribe('pointOver', (p) => post({ kind: 'hover', row: ring.rowOfPoint(p) }));
  scatterplot.subscribe('pointOut', () => post({ kind: 'hover', row: -1 }));
  scatterplot.subscribe('select', ({ points }) => post({ kind: 'select', rows: ring.rowsOfPoints(points) }));
  scatterplot.subscribe('deselect', () => post({ kind: 'select', rows: [] }));
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (event.source !== window.parent || !message || message.clsmap !== true) return;
    if (message.kind === 'hover') {
      linkedRow = Number.isInteger(message.row) && message.row >= 0 && message.row < meta.n ? message.row : -1;
      scatterplot.hover(linkedRow >= 0 ? ring.pointOfRow(linkedRow) : -1, { showReticleOnce: true, preventEvent: true });
    } else if (message.kind === 'select' && Array.isArray(message.rows)) {
      const rows = message.rows.filter((r) => Number.isInteger(r) && r >= 0 && r < meta.n);
      // selecting what is already selected publishes nothing, so the two maps do not echo forever
      if (rows.length) scatterplot.select(rows.map(ring.pointOfRow));
      else scatterplot.deselect();
    } else if (message.kind === 'mode' && typeof message.mode === 'string') {
      if (message.mode !== state.mode) setMode(message.mode);
    }
  });
  post({ kind: 'ready' });
  return handle;
};
