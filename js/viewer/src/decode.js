// The page's payload -> typed columns. Pure: no DOM; uses only fetch (of a data: URL), Blob,
// DecompressionStream, TextDecoder and (where it can) Worker, so it runs (and is tested) on a blank page.

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

// the columns the first frame does not need: the texts, the ids and the neighbours (hover, search, a
// click); their gzip members are decoded while the points are drawn
export const isLate = (name) => name === 'text' || name === 'id' || /^nb/.test(name);

// gunzip off the main thread: a few workers made from a Blob URL (the page's CSP allows blob: workers),
// each inflating the members it is sent with DecompressionStream; null where workers cannot be made
// (then the page inflates on its own thread)
const WORKER = `let queue = Promise.resolve();
onmessage = ({ data: { id, bytes } }) => {
  // one member after another, in the order sent (the first frame's first)
  queue = queue.then(async () => {
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      const out = await new Response(stream).arrayBuffer();
      postMessage({ id, out }, [out]);
    } catch (err) {
      postMessage({ id, error: String(err) });
    }
  });
};`;
const inflaters = (count) => {
  if (typeof Worker !== 'function' || count < 1) return null;
  let url = null;
  try {
    url = URL.createObjectURL(new Blob([WORKER], { type: 'text/javascript' }));
    const workers = Array.from({ length: count }, () => new Worker(url));
    const waiting = new Map();
    let next = 0;
    let broken = null;
    for (const w of workers) {
      w.onmessage = ({ data }) => {
        const { resolve, reject } = waiting.get(data.id);
        waiting.delete(data.id);
        if (data.error) reject(new Error(data.error));
        else resolve(data.out);
      };
      // a worker that cannot start (a stricter CSP, e.g. in a notebook): everything goes back to the page
      w.onerror = (event) => {
        broken = new Error(`gunzip worker: ${event.message || 'failed'}`);
        for (const { reject } of waiting.values()) reject(broken);
        waiting.clear();
      };
    }
    const inflate = (bytes) => new Promise((resolve, reject) => {
      if (broken) {
        reject(broken);
        return;
      }
      const id = next;
      next += 1;
      waiting.set(id, { resolve, reject });
      const copy = bytes.slice();
      workers[id % workers.length].postMessage({ id, bytes: copy }, [copy.buffer]);
    });
    const close = () => workers.forEach((w) => w.terminate());
    return { inflate, close };
  } catch (err) {
    return null;
  } finally {
    if (url) URL.revokeObjectURL(url);
  }
};

// the payload (base64 text in a page, bytes in a notebook widget): a series of gzip members
// (compressed in parallel); each decodes to its own range of the raw buffer, in workers where the page
// can make them. Returns { cols, first, all }: cols, every column (views on the raw buffer, filled as
// their members arrive); first, a promise resolved once every column but the late ones (isLate) is
// in; all, once every column is. The members only the late columns need are inflated once `later`
// resolves (the page: once the first frame is drawn, so that they do not compete with drawing it).
// `mark` is told when each phase ends ('base64', 'gunzip': the first columns, 'gunzip-all').
export const decodeStages = async (meta, packed, mark = () => {}, { workers = 2, later = null } = {}) => {
  const bytes = typeof packed === 'string' ? await base64ToBytes(packed) : packed;
  mark('base64');
  const raw = new Uint8Array(meta.raw_length);
  const cols = columnsOf(meta.columns, raw.buffer);
  cols.complete = false;
  // the raw bytes up to which the first frame's columns reach
  let firstEnd = 0;
  for (const c of meta.columns) {
    if (!isLate(c.name)) firstEnd = Math.max(firstEnd, c.offset + c.length * TYPED[c.dtype].BYTES_PER_ELEMENT);
  }
  const pool = inflaters(Math.min(workers, meta.members.length));
  const inflate = async (part) => {
    if (pool) {
      try {
        return await pool.inflate(part);
      } catch (err) { /* inflated here instead */ }
    }
    return gunzip(part);
  };
  const members = meta.members.map(async (m) => {
    if (m.raw_offset >= firstEnd && later) await later;
    const out = await inflate(bytes.subarray(m.offset, m.offset + m.length));
    raw.set(new Uint8Array(out), m.raw_offset);
  });
  const first = Promise.all(members.filter((_, k) => meta.members[k].raw_offset < firstEnd)).then(() => {
    cols.text_off = offsetsOf(cols.text_len);
    cols.id_off = offsetsOf(cols.id_len);
    mark('gunzip');
  });
  const all = Promise.all(members).then(() => first).then(() => {
    if (pool) pool.close();
    cols.complete = true;
    mark('gunzip-all');
  });
  return { cols, first, all };
};

// every column at once
export const decodePayload = async (meta, packed, mark = () => {}, options = {}) => {
  const { cols, all } = await decodeStages(meta, packed, mark, options);
  await all;
  return cols;
};

// row -> string of a UTF-8 blob cut by offsets in UTF-16 code units (what the packer counts);
// the blob becomes one string when first needed (hover, search), not before the first frame; while
// `complete()` says the blob is still being decoded, every row is ''
export const stringColumn = (blob, offsets, complete = () => true) => {
  let whole = null;
  return (i) => {
    if (whole === null) {
      if (!complete()) return '';
      whole = new TextDecoder('utf-8').decode(blob);
    }
    return whole.slice(offsets[i], offsets[i + 1]);
  };
};
