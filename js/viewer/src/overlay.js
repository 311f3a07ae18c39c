// The overlay canvas over the map: what is drawn in screen space on top of the points (the regions'
// captions, the rings around a text's neighbours). Painters are called with the 2-D context and a
// function from map coordinates ([-1, 1]) to CSS pixels, whenever the view or the size changes.

export const setupOverlay = ({ $, plot, canvas }) => {
  const { scatterplot } = plot;
  const overlay = $('overlay');
  const painters = [];
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
  const redraw = () => {
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
    for (const paint of painters) {
      ctx.save();
      paint(ctx, toScreen);
      ctx.restore();
    }
  };
  scatterplot.subscribe('view', ({ view }) => {
    lastView = view;
    redraw();
  });
  window.addEventListener('resize', redraw);
  // after the first draw: the initial view
  const start = () => {
    lastView = scatterplot.get('cameraView');
    redraw();
  };
  // when the map goes (a notebook widget's output removed)
  const stop = () => window.removeEventListener('resize', redraw);
  return { add: (paint) => painters.push(paint), redraw, start, stop };
};
