// Search: a case-insensitive substring, or a regex, over the texts and the ids. Pure: no DOM.

export const escapeRegex = (q) => q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// the query as a RegExp; throws a SyntaxError for an invalid regex
export const queryRegex = (query, regex) => new RegExp(regex ? query : escapeRegex(query), 'i');

// the rows whose text or id matches, in row order
export const matchingRows = (re, n, textOf, idOf) => {
  const hits = [];
  for (let i = 0; i < n; i += 1) {
    if (re.test(textOf(i)) || re.test(idOf(i))) hits.push(i);
  }
  return hits;
};

// { rows } or, for an invalid regex, { error: 'invalid regex' }
export const search = (query, regex, data) => {
  let re;
  try {
    re = queryRegex(query, regex);
  } catch (err) {
    return { error: 'invalid regex' };
  }
  return { rows: matchingRows(re, data.n, data.textOf, data.idOf) };
};

export const matchesText = (count) => `${count.toLocaleString('en-US')} match${count === 1 ? '' : 'es'}`;
