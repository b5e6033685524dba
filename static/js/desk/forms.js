// The forms a card opens (edit, written answer, labels) and the star: one open at a time.

import { announce, h } from '../lib/dom.js';
import { t } from '../i18n.js';
import { requestFor, track } from './actions.js';
import { select } from './keyboard.js';
import { render } from './render.js';
import { request } from './session.js';
import { busy, cards, el, eventLabels, labelsOf, questions, state, undoStack, upsert } from './state.js';
import { toast, toastError } from './toasts.js';

// ---- Star, labels and written answers ------------------------------------

export function setStarButton(b, q) {
  b.setAttribute('aria-pressed', q.starred ? 'true' : 'false');
  b.title = q.starred ? t('Starred: to raise (s to take the star off)') : t('Star: to raise (s)');
  b.querySelector('.star-icon').textContent = q.starred ? '★' : '☆';
  b.disabled = busy.has(q.id);
}

export function starButton(q) {
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

export async function setStar(id) {
  const q = questions.get(id);
  if (!q || busy.has(id)) return;
  const starred = !q.starred;
  const ack = await requestFor(id, 'question:star', { id, starred });
  if (ack.ok) announce(el.announcer, starred ? t('Starred.') : t('Star taken off.'));
}

export function labelChips(q) {
  return h('ul', { class: 'card-labels', 'aria-label': t('Labels') },
    ...labelsOf(q).map((label) => h('li', { class: 'label-chip' }, label)));
}

export function replyBlock(reply) {
  return h('div', { class: `card-reply ${reply.public ? 'is-public' : 'is-private'}` },
    h('p', { class: 'card-reply-kind' }, reply.public ? t('Written answer, public') : t('Written answer, for the asker only')),
    h('p', { class: 'card-reply-text' }, reply.text));
}

const REPLY_LIMIT = 2000; // qa/domain/moderation.py

export function replyForm(q) {
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

export function labelsForm(q) {
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
    const typed = input.value;
    const label = typed.replace(/\s+/g, ' ').trim();
    if (!label) return;
    const current = labelsOf(questions.get(q.id) || q);
    // The broadcast that shows the chip comes before this ack, so the next label may be
    // typed already: clear only what was sent.
    track(saveLabels(q.id, [...current, label], form).then((ok) => { if (ok && input.value === typed) input.value = ''; }));
  });
  done.addEventListener('click', () => stopForms());
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); stopForms(); }
  });
  refreshLabelsForm(form, q);
  return form;
}

/** The labels editor's chips (each removable) and the event's other labels, one click to add. */
export function refreshLabelsForm(form, q) {
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

/** Open one of a card's forms (`field` names it in state), closing any other. */
function startForm(field, id) {
  if (!questions.has(id)) return;
  stopForms({ quiet: true });
  state[field] = id;
  select(id);
  const card = cards.get(id);
  if (card) card.signature = null;
  render();
}

export const startReply = (id) => startForm('replyingId', id);

export const startLabels = (id) => startForm('labellingId', id);

/** Close whichever form is open on a card (edit, answer, labels), keeping focus on the card. */
export function stopForms({ quiet = false } = {}) {
  const ids = [state.editingId, state.replyingId, state.labellingId].filter((id) => id !== null);
  state.editingId = null;
  state.replyingId = null;
  state.labellingId = null;
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

export function editForm(q) {
  const limit = (state.event.limits && state.event.limits.text) || 500;
  const area = h('textarea', { rows: '4', maxlength: String(limit), 'aria-label': t('Question text'), lang: q.language || null });
  area.value = q.text;
  const theme = h('select', { 'aria-label': t('Theme') },
    ...(state.event.themes || []).filter((item) => !item.hidden || item.key === q.theme)
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

export const startEdit = (id) => startForm('editingId', id);

function stopEdit() {
  const id = state.editingId;
  state.editingId = null;
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
