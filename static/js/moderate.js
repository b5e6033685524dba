// Moderator desk: Incoming / Queue / On air, keyboard first, undo, export.

import {
  announce, connect, h, keepInPlace, openThemes, pageData, setThemeIndex, showConnection,
  storage, syncList, themeInfo, themeTag, timeEl,
} from './connection.js';
import { formatNumber, lang, languageName, localizeEvent, t, tn } from './i18n.js';

const data = pageData();
const code = data.code;
let event = data.event || { code, title: '', themes: [], submissions_open: true, active_theme: null };
const TOKEN_KEY = `qa:modtoken:${code}`;

const $ = (id) => document.getElementById(id);
const el = {
  title: $('event-title'),
  code: $('event-code'),
  participantLink: $('participant-link'),
  copyParticipant: $('copy-participant'),
  screenLink: $('screen-link'),
  presence: $('presence'),
  submissions: $('submissions-open'),
  submissionsLabel: $('submissions-label'),
  activeTheme: $('active-theme'),
  exportCsv: $('export-csv'),
  exportJson: $('export-json'),
  languageFilter: $('language-filter'),
  themeFilter: $('theme-filter'),
  labelFilter: $('label-filter'),
  starFilter: $('star-filter'),
  labelOptions: $('label-options'),
  queueSegment: $('queue-segment'),
  summaryTable: $('summary-table'),
  search: $('search'),
  helpButton: $('help-button'),
  conn: $('conn'),
  tokenPanel: $('token-panel'),
  tokenForm: $('token-form'),
  tokenInput: $('token-input'),
  tokenError: $('token-error'),
  desk: $('main'),
  incomingBody: $('incoming-body'),
  incomingList: $('incoming-list'),
  incomingEmpty: $('incoming-empty'),
  incomingCount: $('incoming-count'),
  incomingByTheme: $('incoming-by-theme'),
  queueBody: $('queue-body'),
  queueList: $('queue-list'),
  queueEmpty: $('queue-empty'),
  queueCount: $('queue-count'),
  answeredHeading: $('answered-heading'),
  answeredList: $('answered-list'),
  answeredCount: $('answered-count'),
  airBody: $('air-body'),
  onair: $('onair'),
  previewBox: $('preview-box'),
  previewFrame: $('preview-frame'),
  rejected: $('rejected'),
  rejectedList: $('rejected-list'),
  rejectedCount: $('rejected-count'),
  toasts: $('toasts'),
  announcer: $('announcer'),
  help: $('help'),
  helpClose: $('help-close'),
  blockDialog: $('block-dialog'),
  blockQuestion: $('block-question'),
  blockConfirm: $('block-confirm'),
  blockCancel: $('block-cancel'),
  ended: $('ended-panel'),
  endedTitle: $('ended-title'),
  endedText: $('ended-text'),
};

const PUBLIC = new Set(['approved', 'answered']);
const ACTION_DONE = {
  approve: () => t('Approved.'),
  reject: () => t('Moved to Not published.'),
  answer: () => t('Marked answered.'),
  live: () => t('On air.'),
  unlive: () => t('Taken off air.'),
  restore: () => t('Restored.'),
};
const UNDONE = {
  approve: () => t('Approval undone.'),
  reject: () => t('Rejection undone.'),
  answer: () => t('“Answered” undone.'),
  live: () => t('“On air” undone.'),
  unlive: () => t('“Off air” undone.'),
  restore: () => t('Restore undone.'),
  reorder: () => t('New order undone.'),
  edit: () => t('Edit undone.'),
  block: () => t('Block undone.'),
  unblock: () => t('Unblock undone.'),
};
// The languages a question can be detected in, for the desk's filter.
const QUESTION_LANGUAGES = ['en', 'fr', 'es'];

let token = null;
let conn = null;
let ended = false; // token revoked or event deleted: the desk stops for good
let synced = false;
const questions = new Map(); // every question, all statuses
let order = []; // public ids, display order
let selectedId = null;
let editingId = null;
let replyingId = null; // the card whose written-answer form is open
let labellingId = null; // the card whose labels editor is open
const cards = new Map(); // id → <li class="card">
const busy = new Set(); // ids with a request in flight
const undoStack = [];
let draggingId = null;
let queueLength = 0;
let shownQueue = []; // approved ids the filters let through, in order

// ---- Token ---------------------------------------------------------------

function tokenFromHash() {
  const match = window.location.hash.match(/[#&]token=([^&]+)/);
  if (!match) return null;
  // Out of the address bar and history, so it is not shared by accident.
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  try { return decodeURIComponent(match[1]); } catch { return match[1]; }
}

function saveToken(value) {
  storage.set(TOKEN_KEY, value, 'session');
  storage.set(TOKEN_KEY, value, 'local');
}

function forgetToken() {
  storage.remove(TOKEN_KEY, 'session');
  storage.remove(TOKEN_KEY, 'local');
}

/** Accept the bare token or the whole moderator link. */
function tokenFromInput(value) {
  const text = value.trim();
  const match = text.match(/[#&?]token=([^&\s]+)/);
  if (match) {
    try { return decodeURIComponent(match[1]); } catch { return match[1]; }
  }
  return text;
}

/** Controls that need a moderator connection are shown only with one. */
function showDesk(on) {
  el.desk.hidden = !on;
  for (const item of document.querySelectorAll('.desk-only')) item.hidden = !on;
}

function askForToken(message) {
  showDesk(false);
  showConnection(el.conn, 'refused');
  el.tokenPanel.hidden = false;
  el.tokenError.hidden = !message;
  el.tokenError.textContent = message || '';
  if (message) el.tokenInput.setAttribute('aria-invalid', 'true');
  else el.tokenInput.removeAttribute('aria-invalid');
  el.tokenInput.value = '';
  el.tokenInput.focus();
}

el.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const value = tokenFromInput(el.tokenInput.value);
  if (!value) {
    askForToken(t('Enter the moderator token.'));
    return;
  }
  saveToken(value);
  start(value);
});

// ---- Toasts and announcements --------------------------------------------

function toast(message, { kind = 'info', actionLabel, onAction, timeout } = {}) {
  const box = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-text' }, message));
  if (actionLabel) {
    const button = h('button', { type: 'button', class: 'button button-small' }, actionLabel);
    button.addEventListener('click', () => { box.remove(); onAction(); });
    box.append(button);
  }
  // One success note at a time; errors stay until they time out.
  if (kind !== 'error') {
    for (const old of el.toasts.querySelectorAll('.toast-info')) old.remove();
  }
  el.toasts.append(box);
  while (el.toasts.children.length > 4) el.toasts.firstElementChild.remove();
  setTimeout(() => box.remove(), timeout || (kind === 'error' ? 8000 : 4000));
}

const toastError = (message) => toast(message || t('That did not work.'), { kind: 'error' });

// ---- Event header --------------------------------------------------------

let themesSignature = '';

function applyEvent(next) {
  event = { ...event, ...localizeEvent(next) };
  el.title.textContent = event.title || '';
  el.code.textContent = event.code || code;
  document.title = `${t('Moderate')} · ${event.title || code}`;
  if (!el.submissions.dataset.busy) {
    el.submissions.checked = event.submissions_open !== false;
    el.submissionsLabel.textContent = el.submissions.checked ? t('Submissions open') : t('Submissions closed');
  }
  const signature = JSON.stringify([
    (event.themes || []).map((theme) => [theme.key, theme.label, theme.colour, theme.hidden]),
    event.active_theme,
  ]);
  if (signature !== themesSignature) {
    themesSignature = signature;
    // A hidden theme takes no new questions, so it is not offered as the segment; if it is
    // the active one already, it stays shown (and cannot be chosen again once left).
    const offered = (event.themes || []).filter((theme) => !theme.hidden || theme.key === event.active_theme);
    el.activeTheme.replaceChildren(
      h('option', { value: '' }, t('None')),
      ...offered.map((theme) => h('option', { value: theme.key, disabled: Boolean(theme.hidden) },
        theme.hidden ? t('%(theme)s (hidden)', { theme: theme.label }) : theme.label)),
    );
    // Every theme, hidden ones too: their questions are still on the desk.
    const chosen = el.themeFilter.value;
    el.themeFilter.replaceChildren(
      h('option', { value: '' }, t('All themes')),
      ...(event.themes || []).map((theme) => h('option', { value: theme.key }, theme.label)),
    );
    el.themeFilter.value = (event.themes || []).some((theme) => theme.key === chosen) ? chosen : '';
    for (const card of cards.values()) card.signature = null;
  }
  if (!el.activeTheme.dataset.busy) el.activeTheme.value = event.active_theme || '';
}

el.participantLink.textContent = t('Participant page');
el.participantLink.title = data.participantUrl;

el.copyParticipant.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(data.participantUrl);
    toast(t('Participant link copied.'));
  } catch {
    toast(t('Participant link: %(url)s', { url: data.participantUrl }), { timeout: 10000 });
  }
});

el.submissions.addEventListener('change', async () => {
  const wanted = el.submissions.checked;
  el.submissions.dataset.busy = '1';
  el.submissionsLabel.textContent = wanted ? t('Submissions open') : t('Submissions closed');
  const ack = await request('event:update', { submissions_open: wanted });
  delete el.submissions.dataset.busy;
  if (ack.ok && ack.event) applyEvent(ack.event);
  else if (!ack.ok) {
    toastError(ack.error.message);
    applyEvent({});
  }
});

el.activeTheme.addEventListener('change', async () => {
  el.activeTheme.dataset.busy = '1';
  const ack = await request('event:update', { active_theme: el.activeTheme.value || null });
  delete el.activeTheme.dataset.busy;
  if (ack.ok && ack.event) applyEvent(ack.event);
  else if (!ack.ok) {
    toastError(ack.error.message);
    applyEvent({});
  }
});

async function exportFile(kind) {
  try {
    const res = await fetch(`/api/events/${encodeURIComponent(code)}/export.${kind}`, {
      headers: { Authorization: `Bearer ${token}`, 'Accept-Language': lang },
    });
    if (!res.ok) {
      let message = t('The export failed (%(status)s).', { status: String(res.status) });
      try {
        const body = await res.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch { /* not JSON */ }
      toastError(message);
      return;
    }
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const day = new Date().toISOString().slice(0, 10);
    const link = h('a', { href: url, download: `questions-${code}-${day}.${kind}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch {
    toastError(t('Could not reach the server for the export.'));
  }
}

el.exportCsv.addEventListener('click', () => exportFile('csv'));
el.exportJson.addEventListener('click', () => exportFile('json'));

// ---- State ---------------------------------------------------------------

function upsert(q) {
  const prev = questions.get(q.id);
  const merged = { ...prev, ...q };
  // A public view of a question (a broadcast to everyone, or an ack of another action) has no
  // labels and shows a private reply as none: what the desk knows of it stays. The moderators'
  // own view, which always has `labels`, follows when these change (qa/web/broadcast.py).
  if (prev && !('labels' in q) && q.reply === null && prev.reply && !prev.reply.public) merged.reply = prev.reply;
  questions.set(q.id, merged);
  if (PUBLIC.has(merged.status) && !order.includes(merged.id)) order.push(merged.id);
  return merged;
}

async function request(name, payload) {
  if (!conn) return { ok: false, error: { code: 'offline', message: t('Not connected.') } };
  const ack = await conn.request(name, payload);
  // Rotated from another server process: this socket learns it at its next action.
  if (!ack.ok && ack.error.code === 'unauthorized') revoked();
  return ack;
}

function byNewest(a, b) {
  return String(b.created_at).localeCompare(String(a.created_at)) || b.id - a.id;
}

function publicInOrder(status) {
  const seen = new Set();
  const out = [];
  for (const id of order) {
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

function lists() {
  const all = Array.from(questions.values());
  return {
    incoming: all.filter((q) => q.status === 'pending').sort(byNewest),
    queue: publicInOrder('approved'),
    answered: publicInOrder('answered'),
    rejected: all.filter((q) => q.status === 'rejected').sort(byNewest),
    live: all.find((q) => q.live && PUBLIC.has(q.status)) || null,
  };
}

const queueIds = () => lists().queue.map((q) => q.id);

// ---- Language filter -----------------------------------------------------

el.languageFilter.append(
  ...QUESTION_LANGUAGES.map((code) => h('option', { value: code, lang: code }, languageName(code))),
  h('option', { value: 'none' }, t('Not detected')),
);
/** Draw every card again: what a card shows depends on more than its question (filters, time). */
function redrawAll() {
  for (const card of cards.values()) card.signature = null;
  render();
}

el.languageFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.languageFilter.value
    ? t('Showing questions in %(language)s only.', { language: el.languageFilter.selectedOptions[0].textContent })
    : t('Showing questions in all languages.'));
});

// ---- Theme filter and search ---------------------------------------------

el.themeFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.themeFilter.value
    ? t('Showing questions on %(theme)s only.', { theme: el.themeFilter.selectedOptions[0].textContent })
    : t('Showing questions on every theme.'));
});

let searchTimer = null;
el.search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(redrawAll, 150);
});

// ---- Labels and star filters ------------------------------------------------

const labelsOf = (q) => (Array.isArray(q.labels) ? q.labels : []);

/** The event's labels: every label a question carries, once whatever its case, sorted. */
function eventLabels() {
  const seen = new Map();
  for (const q of questions.values()) {
    for (const label of labelsOf(q)) {
      const key = label.toLocaleLowerCase();
      if (!seen.has(key)) seen.set(key, label);
    }
  }
  return Array.from(seen.values()).sort((a, b) => a.localeCompare(b, lang, { sensitivity: 'base' }));
}

let labelsSignature = '';

/** The label filter and the editor's suggestions follow the labels in use. */
function renderLabelChoices() {
  const all = eventLabels();
  const signature = JSON.stringify(all);
  if (signature === labelsSignature) return;
  labelsSignature = signature;
  const chosen = el.labelFilter.value;
  el.labelFilter.replaceChildren(
    h('option', { value: '' }, t('All labels')),
    ...all.map((label) => h('option', { value: label }, label)),
  );
  // A filter on a label no question carries any more would hide everything for no visible reason.
  el.labelFilter.value = all.includes(chosen) ? chosen : '';
  el.labelOptions.replaceChildren(...all.map((label) => h('option', { value: label })));
}

el.labelFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.labelFilter.value
    ? t('Showing questions labelled %(label)s only.', { label: el.labelFilter.value })
    : t('Showing questions with any label.'));
});

el.starFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.starFilter.checked ? t('Showing starred questions only.') : t('Showing every question.'));
});

/** Lower case, without accents: "Accès" is found by "acces". */
const folded = (text) => (text || '').normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();

const filtersOn = () => Boolean(el.languageFilter.value || el.themeFilter.value || el.search.value.trim()
  || el.labelFilter.value || el.starFilter.checked);

/** The questions the desk's filters let through: language, theme, and words in the text or name. */
function shownByFilters(items) {
  const language = el.languageFilter.value;
  const theme = el.themeFilter.value;
  const words = folded(el.search.value).split(/\s+/).filter(Boolean);
  const label = el.labelFilter.value;
  const starred = el.starFilter.checked;
  if (!language && !theme && !words.length && !label && !starred) return items;
  return items.filter((q) => {
    if (language && (language === 'none' ? q.language : q.language !== language)) return false;
    if (theme && q.theme !== theme) return false;
    if (starred && !q.starred) return false;
    if (label && !labelsOf(q).some((l) => l.toLocaleLowerCase() === label.toLocaleLowerCase())) return false;
    const haystack = folded(`${q.text} ${q.name || ''}`);
    return words.every((word) => haystack.includes(word));
  });
}

/** A question's language: a short code to see, its name for screen readers. */
function languageTag(code) {
  return h('span', { class: 'lang-tag', title: languageName(code) },
    h('span', { 'aria-hidden': 'true' }, code.toUpperCase()),
    h('span', { class: 'visually-hidden' }, languageName(code)));
}
const liveId = () => { const l = lists().live; return l ? l.id : null; };

// ---- Rendering -----------------------------------------------------------

/** The card to hold still in a column: the selected one, else the top visible one. */
function anchorFor(body) {
  const selected = cards.get(selectedId);
  if (selected && body.contains(selected)) return { el: selected, scroller: body };
  if (body.scrollTop <= 0) return null;
  const top = body.getBoundingClientRect().top;
  for (const card of body.querySelectorAll('.card')) {
    if (card.getBoundingClientRect().bottom > top) return { el: card, scroller: body };
  }
  return null;
}

function render() {
  renderLabelChoices();
  renderSegmentNote();
  similarIndex = reverseSimilar();
  const l = lists();
  queueLength = l.queue.length;
  const queuePosition = new Map(l.queue.map((q, i) => [q.id, i]));
  const shown = {
    incoming: shownByFilters(l.incoming),
    queue: shownByFilters(l.queue),
    answered: shownByFilters(l.answered),
    rejected: shownByFilters(l.rejected),
  };
  shownQueue = shown.queue.map((q) => q.id);
  const anchors = [el.incomingBody, el.queueBody, el.airBody].map(anchorFor);
  // Re-inserting a focused card (syncList moves a card up that way) drops focus to <body>;
  // a keyboard user must stay on the card they moved.
  const focused = document.activeElement;
  keepInPlace(anchors, () => {
    fill(el.incomingList, shown.incoming, 'incoming');
    fill(el.queueList, shown.queue, 'queue', queuePosition);
    fill(el.answeredList, shown.answered, 'answered');
    fill(el.rejectedList, shown.rejected, 'rejected');
    renderOnAir(l.live);
  });
  const lost = !document.activeElement || document.activeElement === document.body;
  if (lost && focused && focused !== document.body && focused.isConnected) {
    focused.focus({ preventScroll: true });
  }
  for (const [id, card] of cards) {
    if (!card.isConnected) cards.delete(id);
  }
  const filtered = filtersOn();
  el.incomingCount.textContent = formatNumber(shown.incoming.length);
  el.incomingEmpty.hidden = shown.incoming.length > 0;
  el.incomingEmpty.textContent = filtered && l.incoming.length
    ? t('No questions match these filters.')
    : t('Nothing waiting. New questions appear here.');
  el.queueCount.textContent = formatNumber(shown.queue.length);
  el.queueEmpty.hidden = shown.queue.length > 0;
  el.queueEmpty.textContent = filtered && l.queue.length
    ? t('No questions match these filters.')
    : t('Approved questions line up here.');
  el.answeredHeading.hidden = shown.answered.length === 0;
  el.answeredCount.textContent = formatNumber(shown.answered.length);
  el.rejectedCount.textContent = formatNumber(shown.rejected.length);
  renderThemeCounts(shown.incoming);
  renderSummary();
  markSelected();
}

function fill(list, items, column, positions) {
  const position = positions || new Map(items.map((q, i) => [q.id, i]));
  syncList(list, items.map((q) => q.id), (id) => {
    let card = cards.get(id);
    if (!card) {
      card = createCard(id);
      cards.set(id, card);
    }
    updateCard(card, questions.get(id), column, position.get(id));
    return card;
  });
}

/** With a segment on, the screen's "Next up" shows only that theme's questions: say so over the queue. */
function renderSegmentNote() {
  const key = event.active_theme;
  el.queueSegment.hidden = !key;
  const text = key ? t('Segment on: the screen shows only the next questions on %(theme)s.',
    { theme: themeInfo(event, key).label }) : '';
  if (el.queueSegment.textContent !== text) el.queueSegment.textContent = text;
}

function renderThemeCounts(incoming) {
  const counts = new Map();
  for (const q of incoming) counts.set(q.theme, (counts.get(q.theme) || 0) + 1);
  const shown = (event.themes || []).filter((theme) => !theme.hidden || counts.get(theme.key));
  el.incomingByTheme.replaceChildren(...shown.map((theme) => {
    const tag = themeTag(event, theme.key);
    tag.append(' ', h('b', {}, formatNumber(counts.get(theme.key) || 0)));
    return h('li', {}, tag);
  }));
}

/** Per theme, every question whatever the filters: as in the export's summary (qa/domain/export.py). */
function renderSummary() {
  // received, published (approved or answered), answered, not published; the rest awaits moderation
  const rows = new Map((event.themes || []).map((theme) => [theme.key, [0, 0, 0, 0]]));
  for (const q of questions.values()) {
    if (!rows.has(q.theme)) rows.set(q.theme, [0, 0, 0, 0]);
    const row = rows.get(q.theme);
    row[0] += 1;
    if (q.status === 'rejected') row[3] += 1;
    else if (PUBLIC.has(q.status)) {
      row[1] += 1;
      if (q.status === 'answered') row[2] += 1;
    }
  }
  const signature = JSON.stringify([...rows, (event.themes || []).map((theme) => theme.label)]);
  if (el.summaryTable.dataset.signature === signature) return;
  el.summaryTable.dataset.signature = signature;
  // A row group per theme, its name on a row of its own: the four numbers get the column's width.
  for (const old of el.summaryTable.querySelectorAll('tbody')) old.remove();
  el.summaryTable.append(...[...rows].map(([key, counts]) => h('tbody', {},
    h('tr', {}, h('th', { scope: 'rowgroup', colspan: '4' }, themeTag(event, key))),
    h('tr', {}, ...counts.map((n) => h('td', {}, formatNumber(n)))))));
}

function renderOnAir(live) {
  if (!live) {
    const [before, after] = t('Nothing on air. Select a question in the queue and press %(key)s.').split('%(key)s');
    el.onair.replaceChildren(
      h('p', { class: 'onair-empty' }, before || '', h('kbd', {}, 'l'), after || ''),
    );
    el.onair.dataset.signature = '';
    return;
  }
  const signature = JSON.stringify([live.id, live.text, live.name, live.theme, live.votes, live.status, [...busy].join()]);
  if (el.onair.dataset.signature === signature) return;
  el.onair.dataset.signature = signature;
  const answered = h('button', { type: 'button', class: 'button button-small', 'aria-keyshortcuts': 'd' }, t('Answered'));
  answered.addEventListener('click', () => act(live.id, 'answer'));
  const off = h('button', { type: 'button', class: 'button button-small', 'aria-keyshortcuts': 'l' }, t('Take off air'));
  off.addEventListener('click', () => act(live.id, 'unlive'));
  // What the speaker said, in writing: the answer box opens on the question's card in the queue.
  const reply = h('button', { type: 'button', class: 'button button-small', 'aria-keyshortcuts': 'w' }, t('Reply'));
  reply.addEventListener('click', () => {
    startReply(live.id);
    const card = cards.get(live.id);
    if (card && card.isConnected) card.scrollIntoView({ block: 'nearest' });
  });
  el.onair.replaceChildren(
    h('span', { class: 'onair-badge' }, t('On air')),
    h('p', { class: 'onair-text', lang: live.language || null }, live.text),
    h('p', { class: 'onair-meta' }, themeTag(event, live.theme), live.name || t('Anonymous'), ' · ',
      h('span', { 'aria-hidden': 'true' }, `▲ ${formatNumber(live.votes || 0)}`),
      h('span', { class: 'visually-hidden' }, tn('%(num)d vote', '%(num)d votes', live.votes || 0))),
    h('div', { class: 'card-actions' }, answered, reply, off),
  );
}

function createCard(id) {
  const card = h('li', { class: 'card', tabindex: '-1', 'data-id': id });
  card.addEventListener('click', (e) => {
    const interactive = e.target.closest('button, a, input, textarea, select, label');
    select(id, { focus: !interactive });
  });
  card.addEventListener('dragstart', (e) => {
    draggingId = id;
    card.classList.add('is-dragging');
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', String(id));
  });
  card.addEventListener('dragend', () => {
    draggingId = null;
    card.classList.remove('is-dragging');
    clearDropMarker();
  });
  return card;
}

function button(label, action, id, { shortcut, className = '', title } = {}) {
  const b = h('button', {
    type: 'button',
    class: `button ${className}`.trim(),
    'data-action': action,
    'aria-keyshortcuts': shortcut || null,
    title: title || null,
    'aria-label': title || null,
  }, label);
  b.disabled = busy.has(id);
  b.addEventListener('click', () => {
    select(id);
    runAction(id, action);
  });
  return b;
}

function blockButton(q) {
  // An icon among the card's tools, its words for screen readers and as a tooltip: a rare action,
  // set apart from the moderation buttons, which then keep one row in French and Spanish too.
  const label = q.author_blocked ? t('Unblock author') : t('Block author');
  const b = button(h('span', { class: 'visually-hidden' }, label), q.author_blocked ? 'unblock' : 'block', q.id,
    { shortcut: 'b', className: 'button-block button-icon' });
  b.title = label;
  return b;
}

function replyButton(q) {
  return button(t('Reply'), 'reply', q.id, { shortcut: 'w', className: 'button-reply' });
}

function actionsFor(q, column, position) {
  const actions = statusActions(q, column, position);
  // Before the arrows, which stay together at the end of the row.
  const at = actions.findIndex((a) => a.classList.contains('move-group'));
  actions.splice(at < 0 ? actions.length : at, 0, replyButton(q));
  return actions;
}

function statusActions(q, column, position) {
  const id = q.id;
  switch (q.status) {
    case 'pending':
      return [
        button(t('Approve'), 'approve', id, { shortcut: 'a', className: 'button-approve' }),
        button(t('Reject'), 'reject', id, { shortcut: 'r' }),
        button(t('Edit'), 'edit', id, { shortcut: 'e' }),
        button(t('Live'), 'live', id, { shortcut: 'l', className: 'button-live' }),
      ];
    case 'approved': {
      const shownAt = shownQueue.indexOf(id);
      const up = button('↑', 'up', id, { className: 'button-icon', title: t('Move up'), shortcut: 'Shift+ArrowUp' });
      const down = button('↓', 'down', id, { className: 'button-icon', title: t('Move down'), shortcut: 'Shift+ArrowDown' });
      const top = button('⤒', 'top', id, { className: 'button-icon', title: t('Move to top'), shortcut: 't' });
      // Up and down move past the neighbours the reader can see (the filters may hide some).
      up.disabled = up.disabled || shownAt <= 0;
      top.disabled = top.disabled || position <= 0;
      down.disabled = down.disabled || shownAt < 0 || shownAt >= shownQueue.length - 1;
      return [
        q.live
          ? button(t('Off air'), 'unlive', id, { shortcut: 'l', className: 'button-live' })
          : button(t('Live'), 'live', id, { shortcut: 'l', className: 'button-live' }),
        button(t('Answered'), 'answer', id, { shortcut: 'd' }),
        button(t('Edit'), 'edit', id, { shortcut: 'e' }),
        button(t('Reject'), 'reject', id, { shortcut: 'r' }),
        // The three arrows wrap together, never one by one (longer words in French and Spanish).
        h('span', { class: 'move-group' }, up, down, top),
      ];
    }
    case 'answered':
      return [
        button(t('Back to queue'), 'restore', id),
        button(t('Reject'), 'reject', id, { shortcut: 'r' }),
      ];
    case 'rejected':
      return [
        button(t('Restore'), 'restore', id),
        button(t('Edit'), 'edit', id, { shortcut: 'e' }),
      ];
    default:
      return [];
  }
}

let similarIndex = new Map(); // id → the pending questions whose hints name it (reverseSimilar)

/** The server sends hints with a pending question only (on arrival, and in the snapshot): the
 * other question of each pair learns of it here, at once, not at the next reload. */
function reverseSimilar() {
  const index = new Map();
  for (const q of questions.values()) {
    if (q.status !== 'pending' || !Array.isArray(q.similar)) continue;
    for (const s of q.similar) {
      if (!s || s.id === q.id) continue;
      if (!index.has(s.id)) index.set(s.id, []);
      index.get(s.id).push({ id: q.id, score: Number(s.score) || 0 });
    }
  }
  return index;
}

/** Questions similar to this one, both ways, still worth merging, each with the way a merge goes:
 * a pending question merges "into" the other; a published one takes a pending one in ("here"). */
function similarTo(q) {
  if (q.merged_into || q.status === 'rejected') return [];
  const found = new Map();
  const add = (id, score, way) => {
    const o = questions.get(id);
    if (!o || o.id === q.id || o.merged_into || o.status === 'rejected') return;
    if (way === 'here' && o.status !== 'pending') return;
    const known = found.get(id);
    if (!known || known.score < score) found.set(id, { q: o, score, way });
  };
  const pointing = similarIndex.get(q.id) || [];
  if (q.status === 'pending') {
    for (const s of Array.isArray(q.similar) ? q.similar : []) if (s) add(s.id, Number(s.score) || 0, 'into');
    for (const r of pointing) add(r.id, r.score, 'into');
  } else {
    for (const r of pointing) add(r.id, r.score, 'here');
  }
  return Array.from(found.values()).sort((a, b) => b.score - a.score).slice(0, 3);
}

/** A question named by the start of its text, for notes about another question. */
function describe(id) {
  const other = questions.get(id);
  if (!other) return t('another question');
  const text = other.text.length > 60 ? `${other.text.slice(0, 57)}…` : other.text;
  return `“${text}”`;
}

const STATUS_WORDS = {
  pending: () => t('Incoming'),
  approved: () => t('In queue'),
  answered: () => t('Answered'),
  rejected: () => t('Not published'),
};
const statusWords = (status) => (STATUS_WORDS[status] ? STATUS_WORDS[status]() : status);

function similarList(q, others) {
  return h('div', { class: 'similar' },
    h('p', { class: 'similar-title' }, t('Similar (%(count)d)', { count: others.length })),
    h('ul', { class: 'similar-list' }, ...others.map(({ q: o, way }) => {
      const here = way === 'here';
      const merge = h('button', {
        type: 'button',
        class: 'button button-small',
        'aria-label': here
          ? t('Merge question %(id)s into this one: %(text)s', { id: String(o.id), text: o.text.slice(0, 80) })
          : t('Merge into question %(id)s: %(text)s', { id: String(o.id), text: o.text.slice(0, 80) }),
      }, here ? t('Merge here') : t('Merge'));
      merge.disabled = busy.has(q.id) || busy.has(o.id);
      merge.addEventListener('click', () => (here ? mergeInto(o.id, q.id) : mergeInto(q.id, o.id)));
      return h('li', { class: 'similar-item' },
        h('span', { class: `status status-${o.status}` }, statusWords(o.status)),
        h('span', { class: 'similar-text', lang: o.language || null }, o.text),
        merge);
    })));
}

function updateCard(card, q, column, position) {
  const editing = editingId === q.id;
  const replying = replyingId === q.id;
  const labelling = labellingId === q.id;
  const others = similarTo(q);
  const signature = JSON.stringify([
    q.text, q.name, q.theme, q.status, q.live, q.votes, q.created_at, column, position,
    editing, replying, labelling, busy.has(q.id),
    column === 'queue' ? [queueLength, shownQueue.indexOf(q.id), shownQueue.length] : 0,
    q.merged_into || null, q.language || null, q.flag || null, Boolean(q.author_blocked),
    q.reply || null, labelsOf(q), Boolean(q.starred),
    others.map((o) => [o.q.id, o.q.text, o.q.status, o.way]),
  ]);
  card.draggable = column === 'queue' && !editing && !replying && !labelling;
  if (card.signature === signature) return;
  // While a form is open, other moderators' changes must not wipe what is being typed; the
  // queue position still follows (a reorder elsewhere moves this card's number).
  const form = card.querySelector('.edit-form, .reply-form');
  if ((editing || replying) && form) {
    const pos = card.querySelector('.card-pos');
    if (pos && column === 'queue') pos.textContent = `#${formatNumber(position + 1)}`;
    return;
  }
  if (labelling && card.querySelector('.labels-form')) {
    // Only the chips change: the field being typed in stays as it is.
    refreshLabelsForm(card.querySelector('.labels-form'), q);
    const pos = card.querySelector('.card-pos');
    if (pos && column === 'queue') pos.textContent = `#${formatNumber(position + 1)}`;
    const star = card.querySelector('.star-toggle');
    if (star) setStarButton(star, q);
    return;
  }
  card.signature = signature;

  const focusedAction = card.contains(document.activeElement) && document.activeElement.dataset
    ? document.activeElement.dataset.action : null;
  setThemeIndex(card, event, q.theme);
  card.dataset.status = q.status;
  card.dataset.live = q.live ? 'true' : 'false';
  card.dataset.flagged = q.flag ? 'true' : 'false';
  card.dataset.authorBlocked = q.author_blocked ? 'true' : 'false';
  card.dataset.starred = q.starred ? 'true' : 'false';
  card.setAttribute('aria-busy', busy.has(q.id) ? 'true' : 'false');

  const meta = h('div', { class: 'card-meta' });
  if (column === 'queue') meta.append(h('span', { class: 'card-pos' }, `#${formatNumber(position + 1)}`));
  const tag = themeTag(event, q.theme);
  const themeLabel = themeInfo(event, q.theme).label;
  // Its own box, so that a long name is clipped on one line (the whole name as a tooltip).
  tag.replaceChildren(h('span', { class: 'theme-name' }, themeLabel));
  tag.title = themeLabel;
  meta.append(tag);
  if (q.language) meta.append(languageTag(q.language));
  meta.append(timeEl(q.created_at));
  if (PUBLIC.has(q.status)) {
    meta.append(h('span', { class: 'card-votes' },
      h('span', { 'aria-hidden': 'true' }, `▲ ${formatNumber(q.votes || 0)}`),
      h('span', { class: 'visually-hidden' }, tn('%(num)d vote', '%(num)d votes', q.votes || 0))));
  }
  if (q.live) meta.append(h('span', { class: 'status status-live' }, t('On air')));
  // The name on the meta line, not a line of its own: more cards fit in a column.
  meta.append(h('span', { class: 'card-name' }, q.name || t('Anonymous')));
  const labelsButton = h('button', {
    type: 'button', class: 'label-toggle', 'data-action': 'labels', 'aria-expanded': labelling ? 'true' : 'false',
  }, t('+ Label'));
  labelsButton.addEventListener('click', () => {
    select(q.id);
    if (labelling) stopForms();
    else startLabels(q.id);
  });
  meta.append(h('span', { class: 'meta-tools' }, labelsButton, starButton(q), blockButton(q)));
  const marks = [];
  if (q.flag) marks.push(flagBadge(q.flag));
  if (q.author_blocked) {
    marks.push(h('span', { class: 'mark mark-blocked' },
      h('span', { class: 'mark-icon', 'aria-hidden': 'true' }, '⊘'), t('Author blocked')));
  }
  const markRow = marks.length ? h('p', { class: 'card-marks' }, ...marks) : null;

  if (editing) {
    card.replaceChildren(meta, ...(markRow ? [markRow] : []), editForm(q));
    const area = card.querySelector('textarea');
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    return;
  }
  const parts = [meta, ...(markRow ? [markRow] : []), h('p', { class: 'card-text', lang: q.language || null }, q.text)];
  if (q.merged_into) {
    parts.push(h('p', { class: 'card-note' }, t('merged into %(question)s', { question: describe(q.merged_into) })));
  }
  if (labelsOf(q).length && !labelling) parts.push(labelChips(q));
  if (replying) {
    card.replaceChildren(...parts, replyForm(q));
    const area = card.querySelector('.reply-form textarea');
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    return;
  }
  if (q.reply) parts.push(replyBlock(q.reply));
  if (labelling) parts.push(labelsForm(q));
  parts.push(h('div', { class: 'card-actions' }, ...actionsFor(q, column, position)));
  card.replaceChildren(...parts);
  if (others.length) card.append(similarList(q, others));
  if (labelling) {
    card.querySelector('.labels-form input').focus();
    return;
  }
  if (focusedAction) {
    const again = card.querySelector(`[data-action="${focusedAction}"]`);
    if (again && !again.disabled) again.focus();
    else card.focus({ preventScroll: true });
  }
}

// ---- Star, labels and written answers ------------------------------------

function setStarButton(b, q) {
  b.setAttribute('aria-pressed', q.starred ? 'true' : 'false');
  b.title = q.starred ? t('Starred: to raise (s to take the star off)') : t('Star: to raise (s)');
  b.querySelector('.star-icon').textContent = q.starred ? '★' : '☆';
  b.disabled = busy.has(q.id);
}

function starButton(q) {
  const b = h('button', {
    type: 'button', class: 'star-toggle', 'data-action': 'star', 'aria-keyshortcuts': 's',
  }, h('span', { class: 'star-icon', 'aria-hidden': 'true' }), h('span', { class: 'visually-hidden' }, t('Star')));
  setStarButton(b, q);
  b.addEventListener('click', () => {
    select(q.id);
    track(setStar(q.id));
  });
  return b;
}

async function setStar(id) {
  const q = questions.get(id);
  if (!q || busy.has(id)) return;
  const starred = !q.starred;
  busy.add(id);
  render();
  const ack = await request('question:star', { id, starred });
  busy.delete(id);
  if (ack.ok && ack.question) upsert(ack.question);
  render();
  if (!ack.ok) toastError(ack.error.message);
  else announce(el.announcer, starred ? t('Starred.') : t('Star taken off.'));
}

function labelChips(q) {
  return h('ul', { class: 'card-labels', 'aria-label': t('Labels') },
    ...labelsOf(q).map((label) => h('li', { class: 'label-chip' }, label)));
}

function replyBlock(reply) {
  return h('div', { class: `card-reply ${reply.public ? 'is-public' : 'is-private'}` },
    h('p', { class: 'card-reply-kind' }, reply.public ? t('Written answer, public') : t('Written answer, for the asker only')),
    h('p', { class: 'card-reply-text' }, reply.text));
}

const REPLY_LIMIT = 2000; // qa/domain/moderation.py

function replyForm(q) {
  const area = h('textarea', { rows: '3', maxlength: String(REPLY_LIMIT), 'aria-label': t('Written answer') });
  area.value = q.reply ? q.reply.text : '';
  const publicBox = h('input', { type: 'checkbox', class: 'reply-public' });
  publicBox.checked = q.reply ? Boolean(q.reply.public) : false;
  const answerBox = h('input', { type: 'checkbox', class: 'reply-answer' });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'button button-primary button-small' }, t('Send answer'));
  const cancel = h('button', { type: 'button', class: 'button button-small' }, t('Cancel'));
  const options = [h('label', { class: 'check' }, publicBox, t('Show it to everyone under the question'))];
  // Only a published question can be marked answered (the server says so too).
  if (q.status === 'approved') options.push(h('label', { class: 'check' }, answerBox, t('Mark answered')));
  const buttons = [save, cancel];
  if (q.reply) {
    const remove = h('button', { type: 'button', class: 'button button-small button-remove' }, t('Remove answer'));
    remove.addEventListener('click', () => track(saveReply(q.id, { text: null }, error)));
    buttons.push(remove);
  }
  const form = h('form', { class: 'reply-form', novalidate: true },
    area, h('div', { class: 'reply-options' }, ...options), error, h('div', { class: 'edit-row' }, ...buttons));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = area.value.trim();
    if (!text) {
      showFormError(error, area, t('Write the answer first.'));
      return;
    }
    track(saveReply(q.id, { text, public: publicBox.checked, answer: answerBox.checked }, error, area));
  });
  cancel.addEventListener('click', () => stopForms());
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); stopForms(); }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  return form;
}

function showFormError(error, field, message) {
  error.textContent = message;
  error.hidden = !message;
  if (field) {
    if (message) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  }
}

async function saveReply(id, payload, error, area) {
  if (busy.has(id)) return;
  busy.add(id);
  const ack = await request('question:reply', { id, ...payload });
  busy.delete(id);
  if (!ack.ok) {
    // The text stays in the box: nothing typed is lost to a refusal.
    showFormError(error, area, ack.error.message);
    return;
  }
  if (ack.question) upsert(ack.question);
  stopForms();
  if (payload.text === null) toast(t('Answer removed.'));
  else if (payload.answer) toast(t('Answer sent, and marked answered.'));
  else toast(payload.public ? t('Answer sent: everyone sees it.') : t('Answer sent to the asker only.'));
}

function labelsForm(q) {
  const input = h('input', {
    type: 'text', class: 'label-input', list: 'label-options', maxlength: '40', autocomplete: 'off',
    'aria-label': t('Add a label'), placeholder: t('New or existing label'),
  });
  const add = h('button', { type: 'submit', class: 'button button-small' }, t('Add'));
  const done = h('button', { type: 'button', class: 'button button-small button-primary' }, t('Done'));
  const form = h('form', { class: 'labels-form', novalidate: true },
    h('ul', { class: 'label-edit-list', 'aria-label': t('Labels') }),
    h('div', { class: 'edit-row' }, input, add, done),
    h('div', { class: 'label-suggestions' }),
    h('p', { class: 'field-error', role: 'alert', hidden: true }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const label = input.value.replace(/\s+/g, ' ').trim();
    if (!label) return;
    const current = labelsOf(questions.get(q.id) || q);
    track(saveLabels(q.id, [...current, label], form).then((ok) => { if (ok) input.value = ''; }));
  });
  done.addEventListener('click', () => stopForms());
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); stopForms(); }
  });
  refreshLabelsForm(form, q);
  return form;
}

/** The labels editor's chips (each removable) and the event's other labels, one click to add. */
function refreshLabelsForm(form, q) {
  const mine = labelsOf(q);
  const taken = new Set(mine.map((l) => l.toLocaleLowerCase()));
  form.querySelector('.label-edit-list').replaceChildren(...mine.map((label) => {
    const remove = h('button', {
      type: 'button', class: 'label-remove', 'aria-label': t('Remove the label %(label)s', { label }),
    }, '×');
    remove.addEventListener('click', () => track(saveLabels(q.id, labelsOf(questions.get(q.id)).filter((l) => l !== label), form)));
    return h('li', { class: 'label-chip' }, label, remove);
  }));
  const others = eventLabels().filter((l) => !taken.has(l.toLocaleLowerCase())).slice(0, 8);
  form.querySelector('.label-suggestions').replaceChildren(...others.map((label) => {
    const pick = h('button', { type: 'button', class: 'label-pick', 'aria-label': t('Add the label %(label)s', { label }) },
      `+ ${label}`);
    pick.addEventListener('click', () => track(saveLabels(q.id, [...labelsOf(questions.get(q.id)), label], form)));
    return pick;
  }));
}

async function saveLabels(id, labels, form) {
  const error = form.querySelector('.field-error');
  const ack = await request('question:label', { id, labels });
  if (!ack.ok) {
    showFormError(error, form.querySelector('.label-input'), ack.error.message);
    return false;
  }
  showFormError(error, form.querySelector('.label-input'), '');
  if (ack.question) upsert(ack.question);
  render();
  return true;
}

function startReply(id) {
  if (!questions.has(id)) return;
  stopForms({ quiet: true });
  replyingId = id;
  select(id);
  const card = cards.get(id);
  if (card) card.signature = null;
  render();
}

function startLabels(id) {
  if (!questions.has(id)) return;
  stopForms({ quiet: true });
  labellingId = id;
  select(id);
  const card = cards.get(id);
  if (card) card.signature = null;
  render();
}

/** Close whichever form is open on a card (edit, answer, labels), keeping focus on the card. */
function stopForms({ quiet = false } = {}) {
  const ids = [editingId, replyingId, labellingId].filter((id) => id !== null);
  editingId = null;
  replyingId = null;
  labellingId = null;
  for (const id of ids) {
    const card = cards.get(id);
    if (card) card.signature = null;
  }
  if (quiet) return;
  render();
  const card = cards.get(ids[0]);
  if (card) card.focus({ preventScroll: true });
}

// ---- Edit ----------------------------------------------------------------

function editForm(q) {
  const limit = (event.limits && event.limits.text) || 500;
  const area = h('textarea', { rows: '4', maxlength: String(limit), 'aria-label': t('Question text'), lang: q.language || null });
  area.value = q.text;
  const theme = h('select', { 'aria-label': t('Theme') },
    ...(event.themes || []).filter((item) => !item.hidden || item.key === q.theme)
      .map((item) => h('option', { value: item.key }, item.label)));
  theme.value = q.theme;
  const save = h('button', { type: 'submit', class: 'button button-primary button-small' }, t('Save'));
  const cancel = h('button', { type: 'button', class: 'button button-small' }, t('Cancel'));
  const form = h('form', { class: 'edit-form' },
    area, h('div', { class: 'edit-row' }, theme, save, cancel));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    track(saveEdit(q.id, area.value.trim(), theme.value));
  });
  cancel.addEventListener('click', () => stopEdit());
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); stopEdit(); }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  return form;
}

function startEdit(id) {
  if (!questions.has(id)) return;
  stopForms({ quiet: true });
  editingId = id;
  select(id);
  const card = cards.get(id);
  if (card) card.signature = null;
  render();
}

function stopEdit() {
  const id = editingId;
  editingId = null;
  const card = cards.get(id);
  if (card) card.signature = null;
  render();
  if (card) card.focus({ preventScroll: true });
}

async function saveEdit(id, text, theme) {
  const q = questions.get(id);
  if (!q) { stopEdit(); return; }
  const payload = { id };
  if (text !== q.text) payload.text = text;
  if (theme !== q.theme) payload.theme = theme;
  if (!('text' in payload) && !('theme' in payload)) { stopEdit(); return; }
  if ('text' in payload && !text) { toastError(t('The question cannot be empty.')); return; }
  const ack = await request('question:edit', payload);
  if (!ack.ok) { toastError(ack.error.message); return; }
  const before = { text: q.text, theme: q.theme };
  if (ack.question) upsert(ack.question);
  undoStack.push({ kind: 'edit', id, before, label: 'edit' });
  stopEdit();
  toast(t('Saved.'));
}

// ---- Moderation ----------------------------------------------------------

async function moderate(id, action) {
  busy.add(id);
  render();
  const ack = await request('question:moderate', { id, action });
  busy.delete(id);
  if (ack.ok && ack.question) upsert(ack.question);
  render();
  if (!ack.ok) toastError(ack.error.message);
  return ack.ok;
}

/** Where selection goes when a card leaves its list: the next one down, else the one above. */
function neighbourIn(list, id) {
  const ids = Array.from(list.children).map((c) => Number(c.dataset.id));
  const i = ids.indexOf(id);
  if (i < 0) return null;
  return ids[i + 1] !== undefined ? ids[i + 1] : (ids[i - 1] !== undefined ? ids[i - 1] : null);
}

// Actions still waiting for their ack: undo waits for them, so "z" right after
// a click undoes that click even when its broadcast arrived before its ack.
const running = new Set();

function track(promise) {
  running.add(promise);
  promise.finally(() => running.delete(promise));
  return promise;
}

function act(id, action) {
  return track(actNow(id, action));
}

async function actNow(id, action) {
  const q = questions.get(id);
  if (!q || busy.has(id)) return;
  const before = { status: q.status, live: Boolean(q.live) };
  const entry = { kind: 'moderate', id, action, before, label: action };
  if (action === 'live') entry.previousLive = liveId();
  if (action === 'reject' && q.status === 'approved') entry.queueBefore = queueIds();
  const card = cards.get(id);
  const list = card && card.parentElement;
  const next = list ? neighbourIn(list, id) : null;

  if (action === 'live' && q.status === 'pending') {
    // Live from Incoming: publish first, then put on air.
    if (!(await moderate(id, 'approve'))) return;
    entry.approvedFirst = true;
  }
  if (!(await moderate(id, action))) return;
  undoStack.push(entry);
  if (undoStack.length > 50) undoStack.shift();
  // Acting moved the card to another list: carry on with its old neighbour.
  const moved = cards.get(id);
  if (next !== null && list && !(moved && moved.parentElement === list)) select(next, { focus: true });
  else if (moved && selectedId === id) moved.focus({ preventScroll: true });
  toast(ACTION_DONE[action] ? ACTION_DONE[action]() : t('Done.'), { actionLabel: t('Undo (z)'), onAction: undo, timeout: 3500 });
}

async function mergeInto(id, into) {
  if (busy.has(id)) return;
  const card = cards.get(id);
  const list = card && card.parentElement;
  const next = list ? neighbourIn(list, id) : null;
  busy.add(id);
  render();
  const ack = await request('question:merge', { id, into });
  busy.delete(id);
  if (ack.ok) {
    if (ack.question) upsert(ack.question);
    if (ack.into) upsert(ack.into);
  }
  render();
  if (!ack.ok) {
    toastError(ack.error.message);
    return;
  }
  if (next !== null) select(next, { focus: true });
  toast(t('Merged into %(question)s; its votes moved there.', { question: describe(into) }));
}

function runAction(id, action) {
  const q = questions.get(id);
  if (!q) return;
  if (action === 'edit') return startEdit(id);
  if (action === 'reply') return startReply(id);
  if (action === 'labels') return startLabels(id);
  if (action === 'up') return moveInQueue(id, -1);
  if (action === 'down') return moveInQueue(id, 1);
  if (action === 'top') return moveInQueue(id, 'top');
  if (action === 'block') return confirmBlock(id);
  if (action === 'unblock') return track(setBlocked(id, false));
  return act(id, action);
}

// ---- Flags and blocked authors -------------------------------------------

const FLAG_WORDS = {
  profanity: () => t('Flagged: possible profanity'),
};

/** Why the server held a question back, in words (never by colour alone). */
function flagBadge(flag) {
  return h('span', { class: 'mark mark-flag' },
    h('span', { class: 'mark-icon', 'aria-hidden': 'true' }, '⚠'),
    FLAG_WORDS[flag] ? FLAG_WORDS[flag]() : t('Flagged: %(reason)s', { reason: flag }));
}

/** Mark every question of one author blocked or not (from an ack or `participant:blocked`). */
function markBlocked(ids, blocked) {
  for (const id of ids) {
    const q = questions.get(id);
    if (q) q.author_blocked = blocked;
  }
  render();
}

async function setBlocked(id, blocked, { record = true } = {}) {
  if (!questions.has(id) || busy.has(id)) return false;
  busy.add(id);
  render();
  const ack = await request('participant:block', { id, blocked });
  busy.delete(id);
  if (ack.ok) markBlocked([id], ack.blocked !== undefined ? Boolean(ack.blocked) : blocked);
  else render();
  if (!ack.ok) {
    toastError(ack.error.message);
    return false;
  }
  if (record) {
    undoStack.push({ kind: 'block', id, blocked, label: blocked ? 'block' : 'unblock' });
    toast(blocked
      ? t('Author blocked: they cannot ask more questions in this event.')
      : t('Author unblocked: they can ask questions again.'), { actionLabel: t('Undo (z)'), onAction: undo, timeout: 4000 });
  }
  const card = cards.get(id);
  if (card && selectedId === id && !card.contains(document.activeElement)) card.focus({ preventScroll: true });
  return true;
}

// Blocking needs a yes: a native modal dialog (focus kept inside, Esc cancels).
let blockingId = null;

function confirmBlock(id) {
  const q = questions.get(id);
  if (!q) return;
  blockingId = id;
  el.blockQuestion.textContent = describe(id);
  if (q.language) el.blockQuestion.lang = q.language;
  else el.blockQuestion.removeAttribute('lang');
  el.blockDialog.showModal();
  el.blockCancel.focus();
}

el.blockConfirm.addEventListener('click', () => {
  const id = blockingId;
  el.blockDialog.close('block');
  if (id !== null) track(setBlocked(id, true));
});
el.blockCancel.addEventListener('click', () => el.blockDialog.close('cancel'));
el.blockDialog.addEventListener('close', () => {
  const id = blockingId;
  blockingId = null;
  const card = cards.get(id);
  if (card && el.blockDialog.returnValue !== 'block') card.focus({ preventScroll: true });
});

// ---- Queue order ---------------------------------------------------------

function withQueueOrder(ids) {
  // The approved part takes the new order; the other public ids keep theirs.
  const rest = order.filter((id) => !ids.includes(id));
  return [...ids, ...rest];
}

async function reorder(ids, { record = true } = {}) {
  const before = queueIds();
  if (JSON.stringify(before) === JSON.stringify(ids)) return true;
  const saved = order.slice();
  order = withQueueOrder(ids);
  render();
  const ack = await request('queue:reorder', { ids });
  if (!ack.ok) {
    order = saved;
    render();
    toastError(ack.error.message);
    return false;
  }
  if (Array.isArray(ack.ids)) order = withQueueOrder(ack.ids);
  render();
  if (record) undoStack.push({ kind: 'reorder', before, label: 'reorder' });
  return true;
}

function moveInQueue(id, delta) {
  const ids = queueIds();
  const i = ids.indexOf(id);
  if (i < 0) {
    toast(t('Only questions in the queue can be moved.'));
    return;
  }
  ids.splice(i, 1);
  if (delta === 'top') {
    ids.unshift(id);
  } else {
    // Past the next question the moderator can see, not one the filters hide.
    const shown = shownQueue.includes(id) ? shownQueue : queueIds();
    const neighbour = shown[shown.indexOf(id) + delta];
    if (neighbour === undefined) ids.splice(i, 0, id);
    else ids.splice(ids.indexOf(neighbour) + (delta > 0 ? 1 : 0), 0, id);
  }
  track(reorder(ids)).then(() => {
    const card = cards.get(id);
    if (card && selectedId === id) card.scrollIntoView({ block: 'nearest' });
  });
}

// Drag and drop inside the queue.
let dropMarker = null;

function clearDropMarker() {
  if (dropMarker) dropMarker.remove();
  dropMarker = null;
  el.queueList.classList.remove('is-drop-target');
}

function dropIndex(clientY) {
  const others = Array.from(el.queueList.querySelectorAll('.card')).filter((c) => Number(c.dataset.id) !== draggingId);
  for (let i = 0; i < others.length; i += 1) {
    const box = others[i].getBoundingClientRect();
    if (clientY < box.top + box.height / 2) return { index: i, before: others[i] };
  }
  return { index: others.length, before: null };
}

el.queueList.addEventListener('dragover', (e) => {
  if (draggingId === null) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'move';
  const { before } = dropIndex(e.clientY);
  if (!dropMarker) dropMarker = h('li', { class: 'drop-marker', 'aria-hidden': 'true' });
  el.queueList.classList.add('is-drop-target');
  if (before) el.queueList.insertBefore(dropMarker, before);
  else el.queueList.append(dropMarker);
});

el.queueList.addEventListener('dragleave', (e) => {
  if (!el.queueList.contains(e.relatedTarget)) clearDropMarker();
});

el.queueList.addEventListener('drop', (e) => {
  if (draggingId === null) return;
  e.preventDefault();
  const id = draggingId;
  const { before } = dropIndex(e.clientY);
  clearDropMarker();
  const ids = queueIds().filter((x) => x !== id);
  const at = before ? ids.indexOf(Number(before.dataset.id)) : -1;
  ids.splice(at < 0 ? ids.length : at, 0, id);
  select(id);
  track(reorder(ids));
});

// ---- Undo ----------------------------------------------------------------

function inverseSteps(entry) {
  const { id, before } = entry;
  const m = (qid, action) => ({ kind: 'moderate', id: qid, action });
  if (entry.kind === 'edit') return [{ kind: 'edit', payload: { id, ...entry.before } }];
  if (entry.kind === 'reorder') return [{ kind: 'reorder', ids: entry.before }];
  if (entry.kind === 'block') return [{ kind: 'block', id, blocked: !entry.blocked }];
  switch (entry.action) {
    case 'approve':
      return [m(id, 'reject'), m(id, 'restore')];
    case 'reject': {
      const steps = [m(id, 'restore')];
      if (PUBLIC.has(before.status)) steps.push(m(id, 'approve'));
      if (before.status === 'answered') steps.push(m(id, 'answer'));
      if (before.live) steps.push(m(id, 'live'));
      if (entry.queueBefore) steps.push({ kind: 'reposition', id, ids: entry.queueBefore });
      return steps;
    }
    case 'answer': {
      const steps = [m(id, 'restore')];
      if (before.live) steps.push(m(id, 'live'));
      return steps;
    }
    case 'live': {
      const steps = [entry.previousLive && entry.previousLive !== id ? m(entry.previousLive, 'live') : m(id, 'unlive')];
      if (entry.approvedFirst) steps.push(m(id, 'reject'), m(id, 'restore'));
      return steps;
    }
    case 'unlive':
      return [m(id, 'live')];
    case 'restore':
      return [m(id, before.status === 'answered' ? 'answer' : 'reject')];
    default:
      return [];
  }
}

let undoing = false;

async function undo() {
  if (undoing) return;
  undoing = true;
  try {
    if (running.size) await Promise.allSettled(Array.from(running));
    await undoLast();
  } finally {
    undoing = false;
  }
}

async function undoLast() {
  const entry = undoStack.pop();
  if (!entry) {
    toast(t('Nothing to undo.'));
    return;
  }
  for (const step of inverseSteps(entry)) {
    let ok = true;
    if (step.kind === 'moderate') {
      ok = await moderate(step.id, step.action);
    } else if (step.kind === 'edit') {
      const ack = await request('question:edit', step.payload);
      if (ack.ok && ack.question) upsert(ack.question);
      if (!ack.ok) toastError(ack.error.message);
      ok = ack.ok;
      render();
    } else if (step.kind === 'reorder') {
      ok = await reorder(step.ids, { record: false });
    } else if (step.kind === 'block') {
      ok = await setBlocked(step.id, step.blocked, { record: false });
    } else if (step.kind === 'reposition') {
      // Put it back where it stood among the questions still queued.
      const current = queueIds().filter((x) => x !== step.id);
      const was = step.ids.filter((x) => x === step.id || current.includes(x));
      const at = was.indexOf(step.id);
      current.splice(at < 0 ? current.length : at, 0, step.id);
      ok = await reorder(current, { record: false });
    }
    if (!ok) {
      toastError(t('Undo stopped part way: see the message above.'));
      return;
    }
  }
  if (entry.id !== undefined) select(entry.id, { focus: true });
  toast(UNDONE[entry.label] ? UNDONE[entry.label]() : t('Undone.'));
}

// ---- Selection and keyboard ----------------------------------------------

function selectableCards() {
  const lists = [el.incomingList, el.queueList, el.answeredList];
  if (el.rejected.open) lists.push(el.rejectedList);
  return lists.flatMap((list) => Array.from(list.querySelectorAll(':scope > .card')));
}

function markSelected() {
  for (const [id, card] of cards) {
    const on = id === selectedId;
    card.classList.toggle('is-selected', on);
    if (on) card.setAttribute('aria-current', 'true');
    else card.removeAttribute('aria-current');
  }
}

function select(id, { focus = false } = {}) {
  selectedId = id;
  markSelected();
  const card = cards.get(id);
  if (card && focus) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: 'nearest' });
  }
}

function moveSelection(delta) {
  const all = selectableCards();
  if (!all.length) return;
  const i = all.findIndex((c) => Number(c.dataset.id) === selectedId);
  const next = i < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, i + delta));
  select(Number(all[next].dataset.id), { focus: true });
}

function jumpColumn(delta) {
  const columns = [el.incomingList, el.queueList, el.answeredList, el.rejectedList]
    .filter((list) => list.querySelector('.card') && (list !== el.rejectedList || el.rejected.open));
  if (!columns.length) return;
  const card = cards.get(selectedId);
  const at = columns.findIndex((list) => card && list.contains(card));
  const to = at < 0 ? 0 : Math.max(0, Math.min(columns.length - 1, at + delta));
  const first = columns[to].querySelector('.card');
  if (first) select(Number(first.dataset.id), { focus: true });
}

function openHelp() {
  el.help.hidden = false;
  el.help.querySelector('.overlay-box').focus();
}

function closeHelp() {
  el.help.hidden = true;
  el.helpButton.focus();
}

el.helpButton.addEventListener('click', openHelp);
el.helpClose.addEventListener('click', closeHelp);
el.help.addEventListener('click', (e) => { if (e.target === el.help) closeHelp(); });

const NOT_TEXT = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file']);

/** Keys belong to the field while someone types in it. */
function isTyping(target) {
  if (!target || !target.closest) return false;
  if (target.closest('textarea, select, [contenteditable="true"]')) return true;
  return target.tagName === 'INPUT' && !NOT_TEXT.has(target.type);
}

document.addEventListener('keydown', (e) => {
  if (!el.help.hidden) {
    if (e.key === 'Escape' || e.key === '?') { e.preventDefault(); closeHelp(); }
    return;
  }
  if (el.blockDialog.open || ended) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (isTyping(e.target)) return;
  if (e.key === '?') { e.preventDefault(); openHelp(); return; }
  if (el.desk.hidden) return;

  const id = selectedId !== null && questions.has(selectedId) ? selectedId : null;
  const key = e.key;
  let handled = true;
  if (e.shiftKey && (key === 'ArrowUp' || key === 'K')) { if (id !== null) moveInQueue(id, -1); }
  else if (e.shiftKey && (key === 'ArrowDown' || key === 'J')) { if (id !== null) moveInQueue(id, 1); }
  else if (key === 'ArrowDown' || key === 'j') moveSelection(1);
  else if (key === 'ArrowUp' || key === 'k') moveSelection(-1);
  else if (key === 'ArrowLeft') jumpColumn(-1);
  else if (key === 'ArrowRight') jumpColumn(1);
  else if (key === 'z') undo();
  else if (id === null && 'aredltbws'.includes(key) && key.length === 1) toast(t('Select a question first (↑ ↓ or j k).'));
  else if (key === 'a') act(id, 'approve');
  else if (key === 'r') act(id, 'reject');
  else if (key === 'e') startEdit(id);
  else if (key === 'w') startReply(id);
  else if (key === 's') track(setStar(id));
  else if (key === 'd') act(id, 'answer');
  else if (key === 'l') act(id, questions.get(id).live ? 'unlive' : 'live');
  else if (key === 't') moveInQueue(id, 'top');
  else if (key === 'b') runAction(id, questions.get(id).author_blocked ? 'unblock' : 'block');
  else handled = false;
  if (handled) e.preventDefault();
});

// ---- Screen preview ------------------------------------------------------

function scalePreview() {
  const width = el.previewBox.clientWidth;
  if (width) el.previewFrame.style.transform = `scale(${width / 1280})`;
}
if (window.ResizeObserver) new ResizeObserver(scalePreview).observe(el.previewBox);
scalePreview();

// ---- Connection ----------------------------------------------------------

const NUMBER = '\u0000'; // where tn() puts the number, for counted()

/** tn()'s words with the number in bold, in the translator's order. */
function counted(n, text) {
  return text.split(NUMBER).flatMap((part, i) => (i ? [h('span', {}, typeof n === 'number' ? formatNumber(n) : '–'), part] : [part]));
}

function showPresence(p) {
  if (!p) return;
  const participants = typeof p.participants === 'number' ? p.participants : 0;
  const moderators = typeof p.moderators === 'number' ? p.moderators : 0;
  el.presence.replaceChildren(
    ...counted(p.participants, tn('%(num)d participant', '%(num)d participants', participants, { num: NUMBER })),
    ' · ',
    ...counted(p.moderators, tn('%(num)d moderator online', '%(num)d moderators online', moderators, { num: NUMBER })),
  );
}

function onSnapshot(snap) {
  if (snap.event) applyEvent(snap.event);
  showPresence(snap.presence);
  questions.clear();
  order = [];
  for (const q of snap.questions || []) upsert(q);
  if (editingId !== null && !questions.has(editingId)) editingId = null;
  if (replyingId !== null && !questions.has(replyingId)) replyingId = null;
  if (labellingId !== null && !questions.has(labellingId)) labellingId = null;
  el.tokenPanel.hidden = true;
  showDesk(true);
  scalePreview();
  render();
  if (!synced && selectedId === null) {
    const first = selectableCards()[0];
    if (first) select(Number(first.dataset.id));
  }
  synced = true;
}

function onQuestion(payload, isNew) {
  if (!payload || !payload.question) return;
  const q = upsert(payload.question);
  render();
  if (isNew) {
    const card = cards.get(q.id);
    if (card) {
      card.classList.add('is-new');
      card.addEventListener('animationend', () => card.classList.remove('is-new'), { once: true });
    }
    announce(el.announcer, t('New question in Incoming: %(theme)s.', { theme: themeInfo(event, q.theme).label }));
  }
}

/** The organiser gave this event a new moderator token: this link is dead, stop for good. */
function revoked() {
  if (ended) return;
  if (conn) conn.stop();
  conn = null;
  token = null;
  forgetToken();
  if (el.blockDialog.open) el.blockDialog.close('cancel');
  askForToken(t('This moderator link is no longer valid; ask the organiser for the new one.'));
}

/** The event was deleted: nothing left to moderate. */
function eventClosed() {
  if (ended) return;
  ended = true;
  if (conn) conn.stop();
  conn = null;
  forgetToken();
  if (el.blockDialog.open) el.blockDialog.close('cancel');
  if (!el.help.hidden) el.help.hidden = true;
  showDesk(false);
  el.tokenPanel.hidden = true;
  showConnection(el.conn, 'ended');
  el.endedTitle.textContent = t('This event was removed.');
  el.endedText.textContent = t('The organiser deleted it with its questions; there is nothing left to moderate.');
  el.ended.hidden = false;
  el.ended.querySelector('[tabindex]').focus();
}

function start(value) {
  token = value;
  if (conn) conn.close();
  el.tokenPanel.hidden = true;
  conn = connect({
    code,
    role: 'moderator',
    auth: () => ({ token }),
    onSnapshot,
    onStatus: (state, message) => {
      if (ended) return;
      showConnection(el.conn, state);
      if (state === 'refused') {
        forgetToken();
        if (conn) conn.close();
        askForToken(message || t('The moderator token was not accepted.'));
      }
    },
    on: {
      'question:new': (p) => onQuestion(p, true),
      'question:update': (p) => onQuestion(p, false),
      'question:remove': (p) => {
        // Moderators keep every question; only its public position goes.
        if (!p) return;
        order = order.filter((id) => id !== p.id);
        render();
      },
      'queue:order': (p) => {
        if (!p || !Array.isArray(p.ids)) return;
        order = withQueueOrder(p.ids);
        render();
      },
      votes: (p) => {
        for (const [id, n] of Object.entries((p && p.counts) || {})) {
          const q = questions.get(Number(id));
          if (q && typeof n === 'number') q.votes = n;
        }
        render();
      },
      'event:update': (p) => {
        if (p && p.event) {
          applyEvent(p.event);
          render();
        }
      },
      presence: showPresence,
      'participant:blocked': (p) => {
        if (!p || !Array.isArray(p.ids)) return;
        markBlocked(p.ids, p.blocked !== false);
      },
      'moderator:revoked': revoked,
      'event:closed': eventClosed,
    },
  });
}

applyEvent(event);
el.rejected.addEventListener('toggle', () => render());
setInterval(redrawAll, 60000);

const initial = tokenFromHash() || storage.get(TOKEN_KEY, 'session') || storage.get(TOKEN_KEY, 'local');
if (initial) {
  saveToken(initial);
  start(initial);
} else {
  askForToken('');
}
