// Times from the server (ISO, UTC) shown in the page's language.

import { formatFullTime, formatShortTime } from '../i18n.js';
import { h } from './dom.js';

/** Parse an ISO time; one without a zone is taken as UTC, as the server stores UTC. */
export function parseTime(iso) {
  if (!iso) return null;
  let s = String(iso);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(s)) s += 'Z';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A time in the page's language: "14:05", or "3 mars, 14:05" when not today. */
export function formatTime(iso) {
  const d = parseTime(iso);
  return d ? formatShortTime(d) : '';
}

export function timeEl(iso, className = 'time') {
  const d = parseTime(iso);
  return h('time', { class: className, datetime: d ? d.toISOString() : null, title: d ? formatFullTime(d) : null },
    formatTime(iso));
}
