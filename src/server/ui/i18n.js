// SPDX-License-Identifier: Apache-2.0
// Text is written in English in the code; t() looks it up in the catalogue chosen by the
// browser's language (i18n-LANG.json), and {name} placeholders are filled from @args.

let catalogue = {};
export let lang = 'en';

const catalogues = { 'zh-tw': 'zh_TW', 'zh-hant': 'zh_TW', 'zh-hk': 'zh_TW', 'zh-mo': 'zh_TW' };

export async function loadCatalogue() {
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const low = l.toLowerCase();
    if (low === 'en' || low.startsWith('en-')) break;
    const name = catalogues[low] || Object.entries(catalogues).find(([k]) => low.startsWith(k + '-'))?.[1];
    if (!name) continue;
    try {
      const resp = await fetch(`i18n-${name}.json`);
      if (resp.ok) {
        catalogue = await resp.json();
        lang = l;
        document.documentElement.lang = l;
      }
    } catch (e) {
      // English then
    }
    break;
  }
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.getAttribute('data-i18n'));
}

export function t(text, args) {
  let s = catalogue[text] || text;
  if (args) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));
  return s;
}
