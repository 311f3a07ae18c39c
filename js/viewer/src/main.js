// clsmap's interactive map page: the script of a map page (one map, viewer.js, drawn from the metadata and
// the gzip'd columnar payload embedded in the page) and of a compare page (compare.js: the two maps in its
// frames linked). window.clsmap (api.js) is the page's scripting handle. The pure parts (decode, rows,
// points, modes, csv, search, neighbours, steps) touch no DOM; tests/test_viewer_js.py runs them in chromium.
import { exposePage, registerMap } from './api.js';
import { startCompare } from './compare.js';
import { finder } from './dom.js';
import { openMap, showError } from './viewer.js';

// a page that could not open says so in its loading box and in window.clsmapError (the error's stack)
const failed = ($) => (err) => {
  showError($, err);
  window.clsmapError = String(err && err.stack ? err.stack : err);
};

// the map of this page, from the page's own data in its <script> elements
const openPage = () => {
  const $ = finder(document);
  const opened = Promise.resolve().then(() => openMap({
    $,
    meta: JSON.parse($('clsmap-meta').textContent),
    packed: $('clsmap-data').textContent,
    themeHost: document.documentElement,
  })).then(({ api }) => {
    exposePage(api);
    return api;
  });
  registerMap(document.documentElement, opened);
  opened.catch(failed($));
};

if (document.getElementById('clsmap-meta')) openPage();
else if (document.getElementById('clsmap-compare')) Promise.resolve().then(startCompare).catch(failed(finder(document)));
