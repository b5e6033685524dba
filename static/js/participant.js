// Participant page: ask (through the outbox), follow my questions, read and vote.

import { connect, showConnection } from './lib/connection.js';
import { announce, h, keepInPlace, syncList } from './lib/dom.js';
import { Outbox, newClientId } from './lib/outbox.js';
import { elementsById, pageData } from './lib/page.js';
import { PUBLIC, statusWords } from './lib/status.js';
import { storage } from './lib/storage.js';
import { openThemes, setThemeIndex, themeInfo, themeTag } from './lib/themes.js';
import { timeEl } from './lib/time.js';
import { formatNumber, localizeEvent, t, tn } from './i18n.js';

const data = pageData();
const code = data.code;
let event = data.event;

const el = elementsById([
  'ended', 'ask', 'endedTitle', 'endedText', 'conn', 'segment', 'segmentLabel', 'segmentPrompt',
  'nameField', 'nameNeed', 'mine', 'mineList', 'listError', 'announcer',
], {
  title: 'event-title', description: 'event-description', form: 'ask-form', chips: 'theme-chips',
  text: 'ask-text', counter: 'ask-counter', name: 'ask-name', error: 'ask-error', sent: 'ask-sent',
  closedTitle: 'ask-closed-title', closedText: 'ask-closed-text', send: 'ask-send', closed: 'ask-closed',
  filter: 'filter-theme', list: 'public-list', empty: 'public-empty', count: 'public-count',
});

const NAME_KEY = 'qa:name';
const PARTICIPANT_KEY = 'qa:participant';

const questions = new Map(); // id → question, public ones and my own
const publicIds = new Set(); // ids the server says are public
let order = []; // public ids in the moderator's order
let synced = false;
let online = false;
let selectedTheme = null;
let themesSignature = '';
let lastActiveTheme;
let ended = false; // the event was deleted: nothing more to send or receive
// Never opened yet: "Questions open soon", not "closed". Once it opens, it is never a draft again.
let draft = document.body.dataset.draft === 'true';
const cards = new Map(); // id → <li>
const votesInFlight = new Set();
const outbox = new Outbox(`qa:outbox:${code}`);

const limits = () => ({
  text: (event.limits && event.limits.text) || 500,
  name: (event.limits && event.limits.name) || 60,
});

// ---- Event: title, segment, themes, open/closed --------------------------

function applyEvent(next) {
  event = { ...event, ...localizeEvent(next) };
  el.title.textContent = event.title || '';
  document.title = `${event.title || t('Questions')} · ${t('Questions')}`;
  el.description.textContent = event.description || '';
  el.description.hidden = !event.description;
  applyNamesPolicy();

  // Chips offer only the themes still taking questions; the list filter keeps them all.
  const themes = openThemes(event);
  const signature = JSON.stringify((event.themes || []).map((theme) => [theme.key, theme.label, theme.colour, theme.hidden]));
  if (signature !== themesSignature) {
    themesSignature = signature;
    renderChips();
    renderFilterOptions();
  }

  // Follow the segment: when the moderator switches theme, preselect it.
  if (event.active_theme !== lastActiveTheme) {
    const first = lastActiveTheme === undefined;
    lastActiveTheme = event.active_theme;
    if (event.active_theme && themes.some((theme) => theme.key === event.active_theme)) {
      selectTheme(event.active_theme);
      // Said once, politely: the segment changed (not on first load).
      if (!first) {
        announce(el.announcer, t('Now discussing: %(theme)s.', { theme: themeInfo(event, event.active_theme).label }));
      }
    }
  }
  // No theme is chosen for the asker unless a segment is on (above) or there is only one:
  // a preselected first theme filed many questions under it by mistake.
  if (selectedTheme && !themes.some((theme) => theme.key === selectedTheme)) selectTheme(null);
  if (!selectedTheme && themes.length === 1) selectTheme(themes[0].key);

  const active = event.active_theme ? themeInfo(event, event.active_theme) : null;
  el.segment.hidden = !active;
  if (active) {
    setThemeIndex(el.segment, event, active.key);
    el.segmentLabel.textContent = active.label;
    el.segmentPrompt.textContent = active.prompt;
    el.segmentPrompt.hidden = !active.prompt;
  }

  const open = event.submissions_open !== false && !ended;
  if (open) draft = false;
  el.form.hidden = !open;
  el.closed.hidden = open || ended;
  el.closedTitle.textContent = draft ? t('Questions open soon.') : t('Questions are closed for now.');
  el.closedText.textContent = draft
    ? t('This page lets you ask as soon as the organiser opens the event; you do not need to reload it.')
    : t('You can still read the published questions and vote for the ones you want answered.');
  el.ask.hidden = ended;

  el.text.maxLength = limits().text;
  el.name.maxLength = limits().name;
  updateCounter();
}

function renderChips() {
  el.chips.replaceChildren(...openThemes(event).map((theme) => {
    const input = h('input', { type: 'radio', name: 'theme', value: theme.key });
    input.checked = theme.key === selectedTheme;
    input.addEventListener('change', () => {
      if (input.checked) selectedTheme = theme.key;
    });
    const chip = h('label', { class: 'chip' }, input, h('span', {}, theme.label));
    setThemeIndex(chip, event, theme.key);
    return chip;
  }));
}

/** names: "asked" (a name is required), "optional", "hidden" (no name field: every question anonymous). */
const namesPolicy = () => (['asked', 'hidden'].includes(event.names) ? event.names : 'optional');

function applyNamesPolicy() {
  const policy = namesPolicy();
  el.nameField.hidden = policy === 'hidden';
  el.name.required = policy === 'asked';
  if (policy === 'asked') {
    el.name.setAttribute('aria-required', 'true');
    el.name.removeAttribute('placeholder');
    el.nameNeed.textContent = t('(required)');
  } else {
    el.name.removeAttribute('aria-required');
    el.name.placeholder = t('Anonymous');
    el.nameNeed.textContent = t('(optional)');
  }
}

function selectTheme(key) {
  selectedTheme = key;
  for (const input of el.chips.querySelectorAll('input[name="theme"]')) {
    input.checked = input.value === key;
  }
}

function renderFilterOptions() {
  const current = el.filter.value;
  el.filter.replaceChildren(
    h('option', { value: '' }, t('All themes')),
    ...(event.themes || []).map((theme) => h('option', { value: theme.key }, theme.label)),
  );
  el.filter.value = (event.themes || []).some((theme) => theme.key === current) ? current : '';
}

// ---- Ask box -------------------------------------------------------------

function updateCounter() {
  const max = limits().text;
  const used = el.text.value.length;
  el.counter.textContent = `${formatNumber(used)} / ${formatNumber(max)}`;
  el.counter.dataset.level = used >= max ? 'full' : used >= max * 0.9 ? 'near' : '';
}

function showAskError(message, field) {
  hideSent();
  el.error.textContent = message;
  el.error.hidden = false;
  if (field === 'text') el.text.setAttribute('aria-invalid', 'true');
  if (field === 'name') el.name.setAttribute('aria-invalid', 'true');
  // Beside the Send button, and brought into view: on a phone the field that gets the focus
  // must not push the message out of sight.
  el.error.scrollIntoView({ block: 'nearest' });
}

/** "Sent": seen by everyone, not only said to screen readers; gone when the next question starts. */
function showSent(message) {
  el.sent.replaceChildren(h('span', { class: 'ask-sent-icon', 'aria-hidden': 'true' }, '✓'), message);
  el.sent.hidden = false;
  el.sent.scrollIntoView({ block: 'nearest' });
}

function hideSent() {
  el.sent.hidden = true;
}

function clearAskError() {
  el.error.hidden = true;
  el.error.textContent = '';
  el.text.removeAttribute('aria-invalid');
  el.name.removeAttribute('aria-invalid');
}

function updateSendButton() {
  el.send.dataset.offline = online ? 'false' : 'true';
  el.send.textContent = online ? t('Send') : t('Offline · send when back');
}

el.text.addEventListener('input', () => {
  updateCounter();
  if (el.text.value.trim()) hideSent();
  if (el.text.getAttribute('aria-invalid')) clearAskError();
});
el.name.addEventListener('input', () => {
  if (el.name.getAttribute('aria-invalid')) clearAskError();
});

el.name.value = storage.get(NAME_KEY) || '';
el.name.addEventListener('change', () => storage.set(NAME_KEY, el.name.value.trim()));

el.form.addEventListener('submit', (e) => {
  e.preventDefault();
  clearAskError();
  if (ended) return;
  const text = el.text.value.trim();
  const policy = namesPolicy();
  const name = policy === 'hidden' ? '' : el.name.value.trim();
  if (!text) {
    showAskError(t('Write your question first.'), 'text');
    el.text.focus({ preventScroll: true });
    return;
  }
  if (text.length > limits().text) {
    showAskError(t('Your question is too long: %(length)d characters, the limit is %(limit)d.',
      { length: text.length, limit: limits().text }), 'text');
    el.text.focus({ preventScroll: true });
    return;
  }
  if (policy === 'asked' && !name) {
    showAskError(t('Please give your name with your question.'), 'name');
    el.name.focus({ preventScroll: true });
    return;
  }
  if (!selectedTheme) {
    showAskError(t('Choose a theme for your question.'), 'theme');
    const first = el.chips.querySelector('input');
    if (first) first.focus({ preventScroll: true });
    return;
  }
  if (policy !== 'hidden') storage.set(NAME_KEY, name);
  outbox.add({
    client_id: newClientId(),
    theme: selectedTheme,
    text,
    name: name || null,
    created_at: new Date().toISOString(),
  });
  el.text.value = '';
  updateCounter();
  renderMine();
  announce(el.announcer, online
    ? t('Sending your question.')
    : t('You are offline. Your question will be sent when the connection is back.'));
  conn.flush();
});

// ---- Outbox outcomes -----------------------------------------------------

function onSent(ack, item) {
  const q = ack.question;
  if (q && typeof q.id === 'number') upsert({ ...q, mine: true });
  renderAll();
  // role=status on the message: screen readers hear it once, from there.
  showSent(q && q.status === 'pending'
    ? t('Sent — a moderator will review it.')
    : t('Sent — it is published.'));
}

function onFailed(item, error) {
  // Give the words back so nothing typed is lost.
  if (!el.text.value.trim()) {
    el.text.value = item.text;
    updateCounter();
    if (openThemes(event).some((theme) => theme.key === item.theme)) selectTheme(item.theme);
  }
  showAskError(error.message || t('Your question could not be sent.'), error.field);
  if (error.field === 'name' && !el.nameField.hidden) el.name.focus({ preventScroll: true });
  renderMine();
}

function onWait(item, error) {
  if (error.code === 'rate_limited') {
    showAskError(`${error.message} ${t('Your question will be sent in a moment.')}`);
  }
  renderMine();
}

// ---- State updates -------------------------------------------------------

function upsert(q) {
  const prev = questions.get(q.id);
  const merged = {
    ...prev,
    ...q,
    mine: Boolean(q.mine || (prev && prev.mine)),
    voted: q.voted !== undefined ? Boolean(q.voted) : Boolean(prev && prev.voted),
  };
  // A vote in flight wins over an older broadcast.
  if (prev && votesInFlight.has(q.id)) merged.voted = prev.voted;
  // The public view of my question shows a reply meant for me alone as none; `question:mine`
  // (which has `mine`) is the word on my own questions.
  if (prev && prev.mine && !q.mine && q.reply === null && prev.reply && !prev.reply.public) merged.reply = prev.reply;
  questions.set(q.id, merged);
  if (PUBLIC.has(merged.status)) {
    publicIds.add(merged.id);
    if (!order.includes(merged.id)) order.push(merged.id);
  } else {
    publicIds.delete(merged.id);
  }
  return { prev, merged };
}

function onSnapshot(snap) {
  if (snap.participant) storage.set(PARTICIPANT_KEY, String(snap.participant));
  if (snap.event) applyEvent(snap.event);
  questions.clear();
  publicIds.clear();
  order = [];
  for (const q of snap.questions || []) upsert(q);
  renderAll({ animate: synced });
  synced = true;
}

function onQuestionUpdate(payload) {
  if (!payload || !payload.question) return;
  const { prev, merged } = upsert(payload.question);
  renderAll({ animate: true });
  if (PUBLIC.has(merged.status) && (!prev || !PUBLIC.has(prev.status)) && !merged.mine) {
    announce(el.announcer, t('A new question was published.'));
  }
}

function onQuestionRemove(payload) {
  const id = payload && payload.id;
  publicIds.delete(id);
  order = order.filter((x) => x !== id);
  const q = questions.get(id);
  if (q && !q.mine) questions.delete(id);
  renderAll();
}

function onMine(payload) {
  if (!payload || !payload.question) return;
  const { prev, merged } = upsert({ ...payload.question, mine: true });
  renderAll({ animate: true });
  if (!prev || prev.status !== merged.status) {
    announce(el.announcer, t('Your question: %(status)s.', { status: statusWords(merged.status, 'participant') }));
  }
}

function onOrder(payload) {
  if (!payload || !Array.isArray(payload.ids)) return;
  const ids = payload.ids.filter((id) => typeof id === 'number');
  const rest = order.filter((id) => !ids.includes(id));
  order = [...ids, ...rest];
  renderPublic();
}

function onVotes(payload) {
  const counts = (payload && payload.counts) || {};
  for (const [id, n] of Object.entries(counts)) {
    const q = questions.get(Number(id));
    if (q && typeof n === 'number') q.votes = n;
  }
  renderPublic();
}

// ---- Rendering -----------------------------------------------------------

function renderAll(opts = {}) {
  renderMine();
  renderPublic(opts);
}

function renderMine() {
  const items = [];
  for (const q of questions.values()) {
    if (q.mine) items.push({ q, created: q.created_at });
  }
  for (const item of outbox.items()) {
    items.push({ pending: item, created: item.created_at });
  }
  items.sort((a, b) => String(b.created || '').localeCompare(String(a.created || '')));
  el.mine.hidden = items.length === 0;
  el.mineList.replaceChildren(...items.map(renderMineItem));
}

function renderMineItem({ q, pending }) {
  const src = q || pending;
  let label;
  let statusClass;
  if (pending) {
    label = online ? t('Sending…') : t('Waiting for connection');
    statusClass = 'status-outbox';
  } else if (q.live && PUBLIC.has(q.status)) {
    label = t('On air');
    statusClass = 'status-live';
  } else if (q.merged_into) {
    label = t('Merged with a similar question');
    statusClass = 'status-rejected';
  } else {
    label = statusWords(q.status, 'participant');
    statusClass = `status-${q.status}`;
  }
  const li = h('li', { class: 'mine-item', 'data-status': pending ? 'outbox' : q.status },
    h('div', { class: 'mine-head' },
      h('span', { class: `status ${statusClass}` }, label),
      themeTag(event, src.theme),
      timeEl(src.created_at, 'mine-time')),
    h('p', { class: 'mine-text', lang: src.language || null }, src.text));
  if (q && q.reply) li.append(replyBlock(q.reply, true));
  setThemeIndex(li, event, src.theme);
  return li;
}

/** A moderator's written answer under a question; on my own, whether everyone sees it too. */
function replyBlock(reply, mine) {
  let kind = t('Answer from the moderators');
  if (mine) kind = reply.public ? t('Answer from the moderators · everyone sees it') : t('Answer from the moderators · only you see it');
  return h('div', { class: `reply ${reply.public ? 'reply-public' : 'reply-private'}` },
    h('p', { class: 'reply-kind' }, kind),
    h('p', { class: 'reply-text' }, reply.text));
}

function currentSort() {
  const checked = document.querySelector('input[name="sort"]:checked');
  return checked ? checked.value : 'order';
}

function visibleIds() {
  const rank = new Map();
  const ids = [];
  for (const id of order) {
    if (publicIds.has(id) && questions.has(id) && !rank.has(id)) { rank.set(id, ids.length); ids.push(id); }
  }
  for (const id of publicIds) {
    if (questions.has(id) && !rank.has(id)) { rank.set(id, ids.length); ids.push(id); }
  }
  const theme = el.filter.value;
  const shown = theme ? ids.filter((id) => questions.get(id).theme === theme) : ids;
  const sort = currentSort();
  if (sort === 'votes') {
    shown.sort((a, b) => (questions.get(b).votes - questions.get(a).votes) || (rank.get(a) - rank.get(b)));
  } else if (sort === 'newest') {
    shown.sort((a, b) => String(questions.get(b).created_at).localeCompare(String(questions.get(a).created_at)) || b - a);
  }
  return { shown, total: ids.length };
}

/** The first card the reader can see, if they have scrolled into the list. */
function readingAnchor() {
  const top = document.querySelector('.topbar').getBoundingClientRect().bottom;
  if (el.list.getBoundingClientRect().top >= top) return null;
  for (const li of el.list.children) {
    if (li.getBoundingClientRect().bottom > top) return li;
  }
  return null;
}

function renderPublic({ animate = false } = {}) {
  const { shown, total } = visibleIds();
  keepInPlace([{ el: readingAnchor(), scroller: window }], () => {
    syncList(el.list, shown, (id) => {
      let li = cards.get(id);
      if (!li) {
        li = createCard(id);
        cards.set(id, li);
        if (animate) li.classList.add('q-enter');
      }
      updateCard(li, questions.get(id));
      return li;
    });
  });
  for (const [id, li] of cards) {
    if (!li.isConnected) cards.delete(id);
  }
  el.count.textContent = total ? formatNumber(total) : '';
  el.empty.hidden = shown.length > 0;
  el.empty.textContent = total && !shown.length
    ? t('No published questions in this theme yet.')
    : t('No published questions yet.');
}

function createCard(id) {
  const meta = h('div', { class: 'q-meta' });
  const text = h('p', { class: 'q-text' });
  const answer = h('div', { class: 'q-reply', hidden: true });
  const foot = h('p', { class: 'q-foot' });
  const count = h('span', { class: 'vote-count' }, '0');
  // Read as "Vote, 3 votes" (the words around the number hidden from sight); aria-pressed: mine or not.
  const before = h('span', { class: 'visually-hidden' });
  const after = h('span', { class: 'visually-hidden' });
  const vote = h('button', { type: 'button', class: 'vote', 'aria-pressed': 'false' },
    h('span', { class: 'vote-arrow', 'aria-hidden': 'true' }, '▲'), before, count, after);
  vote.addEventListener('click', () => toggleVote(id));
  const li = h('li', { class: 'question', 'data-id': id }, meta, text, foot, answer, h('div', { class: 'q-vote' }, vote));
  li.addEventListener('animationend', () => li.classList.remove('q-enter'));
  li.refs = { meta, text, answer, foot, vote, count, before, after };
  return li;
}

function updateCard(li, q) {
  const { meta, text, answer, foot, vote, count, before, after } = li.refs;
  // Only a public answer here, even on my own question: this is the list everyone reads.
  const shown = q.reply && q.reply.public ? q.reply : null;
  const replyKey = shown ? shown.text : '';
  if (answer.dataset.text !== replyKey) {
    answer.dataset.text = replyKey;
    answer.replaceChildren(...(shown ? [replyBlock(shown, false)] : []));
    answer.hidden = !shown;
  }
  setThemeIndex(li, event, q.theme);
  li.dataset.status = q.status;
  li.dataset.live = q.live ? 'true' : 'false';
  const badges = [themeTag(event, q.theme)];
  if (q.live) badges.push(h('span', { class: 'status status-live' }, t('On air')));
  if (q.status === 'answered') badges.push(h('span', { class: 'status status-answered' }, t('Answered')));
  if (q.mine) badges.push(h('span', { class: 'status status-outbox' }, t('Yours')));
  meta.replaceChildren(...badges);
  if (text.textContent !== q.text) text.textContent = q.text;
  // Kept as written: its own language, so a screen reader reads it with the right voice.
  if (q.language) text.lang = q.language;
  else text.removeAttribute('lang');
  foot.replaceChildren(q.name || t('Anonymous'), ' · ', timeEl(q.created_at));
  vote.setAttribute('aria-pressed', q.voted ? 'true' : 'false');
  vote.disabled = ended;
  const votes = q.votes || 0;
  count.textContent = formatNumber(votes);
  const [head, tail] = tn('Vote, %(num)d vote', 'Vote, %(num)d votes', votes, { num: '\u0000' }).split('\u0000');
  before.textContent = head || '';
  after.textContent = tail || '';
}

// ---- Votes ---------------------------------------------------------------

let listErrorTimer = null;
function showListError(message) {
  el.listError.textContent = message;
  el.listError.hidden = false;
  clearTimeout(listErrorTimer);
  listErrorTimer = setTimeout(() => { el.listError.hidden = true; }, 6000);
}

async function toggleVote(id) {
  const q = questions.get(id);
  if (ended || !q || votesInFlight.has(id)) return;
  const up = !q.voted;
  q.voted = up;
  q.votes = Math.max(0, (q.votes || 0) + (up ? 1 : -1));
  votesInFlight.add(id);
  renderPublic();
  const ack = await conn.request('question:vote', { id, up });
  votesInFlight.delete(id);
  const cur = questions.get(id);
  if (cur) {
    if (ack.ok) {
      cur.voted = up;
      if (typeof ack.votes === 'number') cur.votes = ack.votes;
    } else {
      cur.voted = !up;
      cur.votes = Math.max(0, (cur.votes || 0) + (up ? -1 : 1));
      showListError(ack.error.message || t('Your vote did not count. Try again.'));
    }
  }
  renderPublic();
}

el.filter.addEventListener('change', () => renderPublic());
for (const radio of document.querySelectorAll('input[name="sort"]')) {
  radio.addEventListener('change', () => renderPublic());
}

// ---- Connection ----------------------------------------------------------

function onStatus(state, message) {
  if (ended) return;
  showConnection(el.conn, state);
  online = state === 'connected';
  updateSendButton();
  if (state === 'refused') {
    showAskError(message || t('This event is not available.'));
    el.send.disabled = true;
  }
  renderMine();
}

/** The event was deleted: say so, keep what is on the page, stop reconnecting. */
function onEventClosed() {
  if (ended) return;
  ended = true;
  conn.stop();
  showConnection(el.conn, 'ended');
  el.endedTitle.textContent = t('This event has ended.');
  el.endedText.textContent = t('The organiser closed or removed it; no more questions or votes can be sent.');
  el.ended.hidden = false;
  clearAskError();
  applyEvent({});
  renderAll();
  announce(el.announcer, t('This event has ended.'));
}

applyEvent(event);
updateSendButton();
renderAll();

const conn = connect({
  code,
  role: 'participant',
  auth: () => {
    const participant = storage.get(PARTICIPANT_KEY);
    return participant ? { participant } : {};
  },
  onStatus,
  onSnapshot,
  on: {
    'question:update': onQuestionUpdate,
    'question:remove': onQuestionRemove,
    'question:mine': onMine,
    'queue:order': onOrder,
    votes: onVotes,
    'event:closed': onEventClosed,
    'event:update': (payload) => {
      if (payload && payload.event) {
        applyEvent(payload.event);
        renderAll();
      }
    },
  },
  outbox: {
    box: outbox,
    event: 'question:submit',
    payload: (item) => {
      const payload = { client_id: item.client_id, theme: item.theme, text: item.text };
      if (item.name) payload.name = item.name;
      return payload;
    },
    onSent,
    onFailed,
    onWait,
  },
});

// Times say "14:05" today and gain a date tomorrow: refresh them now and then.
setInterval(() => renderAll(), 60000);
