// One question's card: its meta line, marks, text, action buttons and the forms it may hold open.

import { h } from '../lib/dom.js';
import { PUBLIC } from '../lib/status.js';
import { setThemeIndex, themeInfo, themeTag } from '../lib/themes.js';
import { timeEl } from '../lib/time.js';
import { formatNumber, languageName, t, tn } from '../i18n.js';
import { runAction } from './actions.js';
import { makeDraggable } from './dragdrop.js';
import {
  editForm, labelChips, labelsForm, refreshLabelsForm, replyBlock, replyForm, setStarButton, starButton,
  startLabels, stopForms,
} from './forms.js';
import { select } from './keyboard.js';
import { describe, similarList, similarTo } from './similar.js';
import { busy, labelsOf, state } from './state.js';

/** A question's language: a short code to see, its name for screen readers. */
function languageTag(code) {
  return h('span', { class: 'lang-tag', title: languageName(code) },
    h('span', { 'aria-hidden': 'true' }, code.toUpperCase()),
    h('span', { class: 'visually-hidden' }, languageName(code)));
}

export function createCard(id) {
  const card = h('li', { class: 'card', tabindex: '-1', 'data-id': id });
  card.addEventListener('click', (e) => {
    const interactive = e.target.closest('button, a, input, textarea, select, label');
    select(id, { focus: !interactive });
  });
  makeDraggable(card, id);
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
      const shownAt = state.shownQueue.indexOf(id);
      const up = button('↑', 'up', id, { className: 'button-icon', title: t('Move up'), shortcut: 'Shift+ArrowUp' });
      const down = button('↓', 'down', id, { className: 'button-icon', title: t('Move down'), shortcut: 'Shift+ArrowDown' });
      const top = button('⤒', 'top', id, { className: 'button-icon', title: t('Move to top'), shortcut: 't' });
      // Up and down move past the neighbours the reader can see (the filters may hide some).
      up.disabled = up.disabled || shownAt <= 0;
      top.disabled = top.disabled || position <= 0;
      down.disabled = down.disabled || shownAt < 0 || shownAt >= state.shownQueue.length - 1;
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

export function updateCard(card, q, column, position) {
  const editing = state.editingId === q.id;
  const replying = state.replyingId === q.id;
  const labelling = state.labellingId === q.id;
  const others = similarTo(q);
  const signature = JSON.stringify([
    q.text, q.name, q.theme, q.status, q.live, q.votes, q.created_at, column, position,
    editing, replying, labelling, busy.has(q.id),
    column === 'queue' ? [state.queueLength, state.shownQueue.indexOf(q.id), state.shownQueue.length] : 0,
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
  setThemeIndex(card, state.event, q.theme);
  card.dataset.status = q.status;
  card.dataset.live = q.live ? 'true' : 'false';
  card.dataset.flagged = q.flag ? 'true' : 'false';
  card.dataset.authorBlocked = q.author_blocked ? 'true' : 'false';
  card.dataset.starred = q.starred ? 'true' : 'false';
  card.setAttribute('aria-busy', busy.has(q.id) ? 'true' : 'false');

  const meta = h('div', { class: 'card-meta' });
  if (column === 'queue') meta.append(h('span', { class: 'card-pos' }, `#${formatNumber(position + 1)}`));
  const tag = themeTag(state.event, q.theme);
  const themeLabel = themeInfo(state.event, q.theme).label;
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

const FLAG_WORDS = {
  profanity: () => t('Flagged: possible profanity'),
};

/** Why the server held a question back, in words (never by colour alone). */
function flagBadge(flag) {
  return h('span', { class: 'mark mark-flag' },
    h('span', { class: 'mark-icon', 'aria-hidden': 'true' }, '⚠'),
    FLAG_WORDS[flag] ? FLAG_WORDS[flag]() : t('Flagged: %(reason)s', { reason: flag }));
}
