// The page's payload -> typed columns. Pure: no DOM; uses only fetch (of a data: URL), Blob,
// DecompressionStream and TextDecoder, so it runs (and is tested) on a blank page.

export const TYPED = {
  f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array, u2: Uint16Array, i1: Int8Array, u1: Uint8Array,
};

export const base64ToBytes = async (b64) => {
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

export const gunzip = async (bytes) => {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
};

// lengths -> offsets (n + 1 entries)
export const offsetsOf = (lengths) => {
  const out = new Uint32Array(lengths.length + 1);
  let total = 0;
  for (let i = 0; i < lengths.length; i += 1) {
    total += lengths[i];
    out[i + 1] = total;
  }
  return out;
};

// one typed array per column of the layout, each a view on the buffer
export const columnsOf = (layout, buffer) => {
  const cols = {};
  for (const c of layout) {
    const Typed = TYPED[c.dtype];
    cols[c.name] = new Typed(buffer, c.offset, c.length);
  }
  return cols;
};

// the payload (base64 text in a page, bytes in a notebook widget): a series of gzip members
// (compressed in parallel); each decodes to its own range of the raw buffer. `mark` is told when each
// phase ends ('base64', 'gunzip').
export const decodePayload = async (meta, packed, mark = () => {}) => {
  const bytes = typeof packed === 'string' ? await base64ToBytes(packed) : packed;
  mark('base64');
  const raw = new Uint8Array(meta.raw_length);
  await Promise.all(meta.members.map(async (m) => {
    const part = await gunzip(bytes.subarray(m.offset, m.offset + m.length));
    raw.set(new Uint8Array(part), m.raw_offset);
  }));
  mark('gunzip');
  const cols = columnsOf(meta.columns, raw.buffer);
  cols.text_off = offsetsOf(cols.text_len);
  cols.id_off = offsetsOf(cols.id_len);
  return cols;
};

// row -> string of a UTF-8 blob cut by offsets in UTF-16 code units (what the packer counts);
// the blob becomes one string when first needed (hover, search), not before the first frame
export const stringColumn = (blob, offsets) => {
  let whole = null;
  return (i) => {
    if (whole === null) whole = new TextDecoder('utf-8').decode(blob);
    return whole.slice(offsets[i], offsets[i + 1]);
  };
};
