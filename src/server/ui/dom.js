// SPDX-License-Identifier: Apache-2.0
// DOM helpers: elements are built, never parsed from strings (no innerHTML with data).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces the children of @el, keeping the keyboard focus on the element with the same
// data-key when there is one (live updates must not throw the user out of a table).
// Nothing is touched when the new children equal the old ones (most watch events change
// nothing a section shows), so a click or a text selection there is never lost.
export function replace(el, ...children) {
  const next = document.createDocumentFragment();
  append(next, children);
  if (next.childNodes.length === el.childNodes.length
      && [...next.childNodes].every((n, i) => n.isEqualNode(el.childNodes[i]))) return;
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.getAttribute('data-key') : null;
  el.replaceChildren(next);
  if (key) {
    const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

export function badge(text, kind) {
  return h('span', { class: 'badge ' + (kind || String(text).toLowerCase()) }, text);
}

// A table named by @label (its section's heading says it on screen); @rows are arrays of cells
// (nodes or text); @empty is shown when there are none.
export function table(label, headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'scroll' },
    h('table', { 'aria-label': label },
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { 'data-label': headers[i] }, c)))))));
}
