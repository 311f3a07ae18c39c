// The search box: matches are selected (highlighted, listed in the table) and counted.
import { matchesText, search } from './search.js';

export const setupSearch = ({ $, data, state, plot, ring }) => {
  const { scatterplot } = plot;
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
    const found = search(q, $('regex').checked, data);
    if (found.error) {
      status.textContent = found.error;
      status.classList.add('error');
      return;
    }
    const hits = found.rows;
    state.searchCount = hits.length;
    status.textContent = matchesText(hits.length);
    if (hits.length) scatterplot.select(hits.map(ring.pointOfRow));
    else scatterplot.deselect();
  };
  let searchTimer = null;
  searchBox.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, data.n > 100000 ? 350 : 120);
  });
  searchBox.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      clearTimeout(searchTimer);
      runSearch();
    }
  });
  $('regex').addEventListener('change', runSearch);
};
