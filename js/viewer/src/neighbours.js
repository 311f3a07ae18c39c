// Each point's nearest neighbours in the vector space (clsmap analyze), as the page carries them:
// k per row, nearest first; their rows as byte planes nb0 (lowest byte), nb1, ...; their cosine
// similarities s as codes q = round(L sqrt((1 - s) / 2)), L = meta.neighbours.levels, the first of a
// row as it is and each other as its rise over the one before. Pure: no DOM.

// null when the page has no neighbours; else { k, stored, of(row) -> [{ row, similarity }] }
export const neighbourReader = (meta, cols) => {
  const info = meta.neighbours;
  if (!info || !info.k) return null;
  const { k, planes, levels } = info;
  const bytes = [];
  for (let p = 0; p < planes; p += 1) bytes.push(cols[`nb${p}`]);
  const sims = cols.nb_sim;
  const of = (r) => {
    const out = [];
    let q = 0;
    for (let m = 0; m < k; m += 1) {
      const at = r * k + m;
      let row = 0;
      for (let p = planes - 1; p >= 0; p -= 1) row = row * 256 + bytes[p][at];
      q = m === 0 ? sims[at] : q + sims[at];
      out.push({ row, similarity: 1 - 2 * (q / levels) ** 2 });
    }
    return out;
  };
  return { k, stored: info.stored, of };
};

// how many of `list` (rows) carry the same value as row r; null where r has none ('' or missing)
export const agreeing = (list, r, valueOf) => {
  const own = valueOf(r);
  if (own === '' || own === undefined || own === null) return null;
  let same = 0;
  for (const { row } of list) if (valueOf(row) === own) same += 1;
  return same;
};
