// The desk's shared state: one object for what changes, the question maps, the lists derived from them.

import { elementsById, pageData } from '../lib/page.js';
import { PUBLIC } from '../lib/status.js';
import { lang } from '../i18n.js';

export const data = pageData();
export const code = data.code;

export const el = elementsById([
  'participantLink', 'copyParticipant', 'screenLink', 'presence', 'submissionsLabel', 'activeTheme',
  'exportCsv', 'exportJson', 'languageFilter', 'themeFilter', 'labelFilter', 'starFilter', 'labelOptions',
  'queueSegment', 'summaryTable', 'search', 'helpButton', 'conn', 'tokenPanel', 'tokenForm', 'tokenInput',
  'tokenError', 'incomingBody', 'incomingList', 'incomingEmpty', 'incomingCount', 'incomingByTheme',
  'queueBody', 'queueList', 'queueEmpty', 'queueCount', 'answeredHeading', 'answeredList', 'answeredCount',
  'airBody', 'onair', 'previewBox', 'previewFrame', 'rejected', 'rejectedList', 'rejectedCount', 'toasts',
  'announcer', 'help', 'helpClose', 'blockDialog', 'blockQuestion', 'blockConfirm', 'blockCancel',
  'endedTitle', 'endedText',
], {
  title: 'event-title', code: 'event-code', submissions: 'submissions-open', desk: 'main',
  ended: 'ended-panel',
});

/** What changes while the desk runs, in one place; the modules read and write it here. */
export const state = {
  event: data.event,
  token: null,
  conn: null,
  ended: false, // token revoked or event deleted: the desk stops for good
  synced: false,
  order: [], // public ids, display order
  selectedId: null,
  editingId: null,
  replyingId: null, // the card whose written-answer form is open
  labellingId: null, // the card whose labels editor is open
  draggingId: null,
  queueLength: 0,
  shownQueue: [], // approved ids the filters let through, in order
  similarIndex: new Map(), // id → the pending questions whose hints name it (reverseSimilar)
};
export const questions = new Map(); // every question, all statuses
export const cards = new Map(); // id → <li class="card">
export const busy = new Set(); // ids with a request in flight
export const undoStack = [];

// ---- Questions and the lists they make -----------------------------------

export function upsert(q) {
  const prev = questions.get(q.id);
  const merged = { ...prev, ...q };
  // A public view of a question (a broadcast to everyone, or an ack of another action) has no
  // labels and shows a private reply as none: what the desk knows of it stays. The moderators'
  // own view, which always has `labels`, follows when these change (qa/web/broadcast.py).
  if (prev && !('labels' in q) && q.reply === null && prev.reply && !prev.reply.public) merged.reply = prev.reply;
  questions.set(q.id, merged);
  if (PUBLIC.has(merged.status) && !state.order.includes(merged.id)) state.order.push(merged.id);
  return merged;
}

function byNewest(a, b) {
  return String(b.created_at).localeCompare(String(a.created_at)) || b.id - a.id;
}

function publicInOrder(status) {
  const seen = new Set();
  const out = [];
  for (const id of state.order) {
    const q = questions.get(id);
    if (q && q.status === status && !seen.has(id)) { seen.add(id); out.push(q); }
  }
  const rest = [];
  for (const q of questions.values()) {
    if (q.status === status && !seen.has(q.id)) rest.push(q);
  }
  rest.sort((a, b) => a.id - b.id);
  return out.concat(rest);
}

export function lists() {
  const all = Array.from(questions.values());
  return {
    incoming: all.filter((q) => q.status === 'pending').sort(byNewest),
    queue: publicInOrder('approved'),
    answered: publicInOrder('answered'),
    rejected: all.filter((q) => q.status === 'rejected').sort(byNewest),
    live: all.find((q) => q.live && PUBLIC.has(q.status)) || null,
  };
}

export const queueIds = () => lists().queue.map((q) => q.id);

export const labelsOf = (q) => (Array.isArray(q.labels) ? q.labels : []);

/** The event's labels: every label a question carries, once whatever its case, sorted. */
export function eventLabels() {
  const seen = new Map();
  for (const q of questions.values()) {
    for (const label of labelsOf(q)) {
      const key = label.toLocaleLowerCase();
      if (!seen.has(key)) seen.set(key, label);
    }
  }
  return Array.from(seen.values()).sort((a, b) => a.localeCompare(b, lang, { sensitivity: 'base' }));
}

export const liveId = () => { const l = lists().live; return l ? l.id : null; };
