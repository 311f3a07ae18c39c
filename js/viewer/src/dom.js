// The only ways the viewer makes DOM: user data (texts, labels, ids, names) only ever reaches the
// page through textContent / createTextNode.

// where the ids are looked up: the page's document, or the shadow root of a notebook widget (widget.js)
let scope = document;
export const setScope = (root) => { scope = root; };
export const $ = (id) => scope.getElementById(id);

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
