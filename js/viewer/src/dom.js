// The only ways the viewer makes DOM: user data (texts, labels, ids, names) only ever reaches the
// page through textContent / createTextNode.

// the element lookup of one map: `$(id)` finds the element of that id in the map's own root (the page's
// document, or the shadow root of a notebook widget's output, widget.js). Each map gets its own (viewer.js)
// and hands it to the parts it builds, so that several maps on one page each find their own elements.
export const finder = (root) => (id) => root.getElementById(id);

export const el = (tag, props = {}, children = []) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'className') node.className = value;
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};
