// Selection, the shortcuts help and the desk's keys.

import { t } from '../i18n.js';
import { act, runAction, track, undo } from './actions.js';
import { setStar, startEdit, startReply } from './forms.js';
import { moveInQueue } from './queue.js';
import { cards, el, questions, state } from './state.js';
import { toast } from './toasts.js';

// ---- Selection and keyboard ----------------------------------------------

export function selectableCards() {
  const lists = [el.incomingList, el.queueList, el.answeredList];
  if (el.rejected.open) lists.push(el.rejectedList);
  return lists.flatMap((list) => Array.from(list.querySelectorAll(':scope > .card')));
}

export function markSelected() {
  for (const [id, card] of cards) {
    const on = id === state.selectedId;
    card.classList.toggle('is-selected', on);
    if (on) card.setAttribute('aria-current', 'true');
    else card.removeAttribute('aria-current');
  }
}

export function select(id, { focus = false } = {}) {
  state.selectedId = id;
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
  const i = all.findIndex((c) => Number(c.dataset.id) === state.selectedId);
  const next = i < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, i + delta));
  select(Number(all[next].dataset.id), { focus: true });
}

function jumpColumn(delta) {
  const columns = [el.incomingList, el.queueList, el.answeredList, el.rejectedList]
    .filter((list) => list.querySelector('.card') && (list !== el.rejectedList || el.rejected.open));
  if (!columns.length) return;
  const card = cards.get(state.selectedId);
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
  if (el.blockDialog.open || state.ended) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (isTyping(e.target)) return;
  if (e.key === '?') { e.preventDefault(); openHelp(); return; }
  if (el.desk.hidden) return;

  const id = state.selectedId !== null && questions.has(state.selectedId) ? state.selectedId : null;
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
