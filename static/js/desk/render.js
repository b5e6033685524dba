// Drawing the desk: the four lists, the On air panel, counts, the summary and the screen preview.

import { h, keepInPlace, syncList } from '../lib/dom.js';
import { PUBLIC } from '../lib/status.js';
import { themeInfo, themeTag } from '../lib/themes.js';
import { formatNumber, t, tn } from '../i18n.js';
import { act } from './actions.js';
import { createCard, updateCard } from './cards.js';
import { filtersOn, renderLabelChoices, shownByFilters } from './filters.js';
import { startReply } from './forms.js';
import { markSelected } from './keyboard.js';
import { reverseSimilar } from './similar.js';
import { busy, cards, el, lists, questions, state } from './state.js';

// ---- Rendering -----------------------------------------------------------

/** The card to hold still in a column: the selected one, else the top visible one. */
function anchorFor(body) {
  const selected = cards.get(state.selectedId);
  if (selected && body.contains(selected)) return { el: selected, scroller: body };
  if (body.scrollTop <= 0) return null;
  const top = body.getBoundingClientRect().top;
  for (const card of body.querySelectorAll('.card')) {
    if (card.getBoundingClientRect().bottom > top) return { el: card, scroller: body };
  }
  return null;
}

export function render() {
  renderLabelChoices();
  renderSegmentNote();
  state.similarIndex = reverseSimilar();
  const l = lists();
  state.queueLength = l.queue.length;
  const queuePosition = new Map(l.queue.map((q, i) => [q.id, i]));
  const shown = {
    incoming: shownByFilters(l.incoming),
    queue: shownByFilters(l.queue),
    answered: shownByFilters(l.answered),
    rejected: shownByFilters(l.rejected),
  };
  state.shownQueue = shown.queue.map((q) => q.id);
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
  const key = state.event.active_theme;
  el.queueSegment.hidden = !key;
  const text = key ? t('Segment on: the screen shows only the next questions on %(theme)s.',
    { theme: themeInfo(state.event, key).label }) : '';
  if (el.queueSegment.textContent !== text) el.queueSegment.textContent = text;
}

function renderThemeCounts(incoming) {
  const counts = new Map();
  for (const q of incoming) counts.set(q.theme, (counts.get(q.theme) || 0) + 1);
  const shown = (state.event.themes || []).filter((theme) => !theme.hidden || counts.get(theme.key));
  el.incomingByTheme.replaceChildren(...shown.map((theme) => {
    const tag = themeTag(state.event, theme.key);
    tag.append(' ', h('b', {}, formatNumber(counts.get(theme.key) || 0)));
    return h('li', {}, tag);
  }));
}

/** Per theme, every question whatever the filters: as in the export's summary (qa/domain/export.py). */
function renderSummary() {
  // received, published (approved or answered), answered, not published; the rest awaits moderation
  const rows = new Map((state.event.themes || []).map((theme) => [theme.key, [0, 0, 0, 0]]));
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
  const signature = JSON.stringify([...rows, (state.event.themes || []).map((theme) => theme.label)]);
  if (el.summaryTable.dataset.signature === signature) return;
  el.summaryTable.dataset.signature = signature;
  // A row group per theme, its name on a row of its own: the four numbers get the column's width.
  for (const old of el.summaryTable.querySelectorAll('tbody')) old.remove();
  el.summaryTable.append(...[...rows].map(([key, counts]) => h('tbody', {},
    h('tr', {}, h('th', { scope: 'rowgroup', colspan: '4' }, themeTag(state.event, key))),
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
    h('p', { class: 'onair-meta' }, themeTag(state.event, live.theme), live.name || t('Anonymous'), ' · ',
      h('span', { 'aria-hidden': 'true' }, `▲ ${formatNumber(live.votes || 0)}`),
      h('span', { class: 'visually-hidden' }, tn('%(num)d vote', '%(num)d votes', live.votes || 0))),
    h('div', { class: 'card-actions' }, answered, reply, off),
  );
}

// ---- Screen preview ------------------------------------------------------

export function scalePreview() {
  const width = el.previewBox.clientWidth;
  if (width) el.previewFrame.style.transform = `scale(${width / 1280})`;
}
if (window.ResizeObserver) new ResizeObserver(scalePreview).observe(el.previewBox);
scalePreview();
