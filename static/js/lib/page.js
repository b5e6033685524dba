// What the server rendered into <body data-…>, and the page's elements by id.

import { localizeEvent } from '../i18n.js';

/** The page's data; `event` is an empty open event when the page came without one. */
export function pageData() {
  const d = document.body.dataset;
  let event = null;
  if (d.event) {
    try { event = JSON.parse(d.event); } catch { event = null; }
  }
  const code = d.code || (event && event.code) || '';
  return {
    page: d.page || '',
    code,
    event: localizeEvent(event) || { code, title: '', themes: [], submissions_open: true, active_theme: null },
    participantUrl: d.participantUrl || '',
    screenUrl: d.screenUrl || '',
    qrUrl: d.qrUrl || '',
  };
}

/**
 * The page's elements by name: each name in `names` is the camelCase of its id (segmentLabel is
 * #segment-label); `renamed` gives the id of a name that differs ({ title: 'event-title' }).
 */
export function elementsById(names, renamed = {}) {
  const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const el = {};
  for (const name of names) el[name] = document.getElementById(kebab(name));
  for (const [name, id] of Object.entries(renamed)) el[name] = document.getElementById(id);
  return el;
}
