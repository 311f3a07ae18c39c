// The compare page: two maps (the same viewer, each in a frame of its own) side by side. This part runs
// in the page around them: it relays hover and selection from one map to the other, switches both
// maps' colour mode together, and selects a text in both when its row of the "moved most" table is
// clicked. Every name and text shown here was put in the page as text by Python (no data in markup).

export const startCompare = () => {
  const frames = [...document.querySelectorAll('iframe.clsmap-map')];
  const windows = frames.map((f) => f.contentWindow);
  const other = (source) => windows.find((w) => w && w !== source);
  const ready = new Set();
  const state = { hovered: [-1, -1], selection: [[], []], mode: null };
  const send = (target, message) => target && target.postMessage({ clsmap: true, ...message }, '*');
  const toAll = (message) => windows.forEach((w) => send(w, message));

  window.addEventListener('message', (event) => {
    const message = event.data;
    const from = windows.indexOf(event.source);
    if (from < 0 || !message || message.clsmap !== true) return;
    const to = other(event.source);
    if (message.kind === 'ready') {
      ready.add(from);
      if (state.mode) send(event.source, { kind: 'mode', mode: state.mode });
    } else if (message.kind === 'hover') {
      state.hovered[from] = message.row;
      send(to, { kind: 'hover', row: message.row });
    } else if (message.kind === 'select') {
      state.selection[from] = message.rows;
      send(to, { kind: 'select', rows: message.rows });
    }
  });

  for (const button of document.querySelectorAll('#compare-modes button')) {
    button.addEventListener('click', () => {
      state.mode = button.dataset.mode;
      for (const b of document.querySelectorAll('#compare-modes button')) b.classList.toggle('on', b === button);
      toAll({ kind: 'mode', mode: state.mode });
    });
  }
  for (const row of document.querySelectorAll('#moved-rows tr[data-row]')) {
    row.addEventListener('click', () => toAll({ kind: 'select', rows: [Number(row.dataset.row)] }));
  }
  const loading = document.getElementById('compare-loading');
  if (loading) loading.hidden = true;
  window.clsmapCompare = {
    ready: () => ready.size === windows.length,
    hovered: () => state.hovered.slice(),
    selection: () => state.selection.map((rows) => rows.slice()),
    mode: () => state.mode,
  };
};
