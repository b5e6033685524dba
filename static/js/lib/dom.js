// The DOM helpers every page uses. User text only ever goes into the DOM through textContent.

/** h('p', {class: 'x', 'data-id': 3}, 'text', child) — children are text or nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Say something to screen readers through a polite live region. */
export function announce(region, message) {
  if (!region) return;
  region.textContent = '';
  // A fresh node after a tick, so the same words twice are still read.
  setTimeout(() => { region.textContent = message; }, 50);
}

/** Put nodeFor(id) for each id into list, in order, moving existing nodes; drop the rest. */
export function syncList(list, ids, nodeFor) {
  const keep = new Set();
  let i = 0;
  for (const id of ids) {
    const node = nodeFor(id);
    keep.add(node);
    const at = list.children[i];
    if (at !== node) list.insertBefore(node, at || null);
    i += 1;
  }
  for (const child of Array.from(list.children)) {
    if (!keep.has(child)) child.remove();
  }
}

/** Run mutate() and scroll so that anchor stays where it was on screen. */
export function keepInPlace(anchors, mutate) {
  const before = anchors
    .filter((a) => a && a.el && a.el.isConnected)
    .map((a) => ({ ...a, top: a.el.getBoundingClientRect().top }));
  mutate();
  for (const a of before) {
    if (!a.el.isConnected) continue;
    const delta = a.el.getBoundingClientRect().top - a.top;
    if (Math.abs(delta) < 1) continue;
    if (a.scroller === window) window.scrollBy(0, delta);
    else a.scroller.scrollTop += delta;
  }
}
