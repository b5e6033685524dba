// Moderation actions with their acks, merges, blocking authors and undo.

import { t } from '../i18n.js';
import { PUBLIC } from '../lib/status.js';
import { startEdit, startLabels, startReply } from './forms.js';
import { select } from './keyboard.js';
import { moveInQueue, reorder } from './queue.js';
import { render } from './render.js';
import { request } from './session.js';
import { describe } from './similar.js';
import { busy, cards, el, liveId, questions, queueIds, state, undoStack, upsert } from './state.js';
import { toast, toastError } from './toasts.js';

// Per action, what the toast says once it is done and once it is undone. Plain strings: i18n.js
// awaits the page's messages before any module that imports it runs.
const SAID = {
  approve: [t('Approved.'), t('Approval undone.')],
  reject: [t('Moved to Not published.'), t('Rejection undone.')],
  answer: [t('Marked answered.'), t('“Answered” undone.')],
  live: [t('On air.'), t('“On air” undone.')],
  unlive: [t('Taken off air.'), t('“Off air” undone.')],
  restore: [t('Restored.'), t('Restore undone.')],
  reorder: [null, t('New order undone.')],
  edit: [null, t('Edit undone.')],
  block: [null, t('Block undone.')],
  unblock: [null, t('Unblock undone.')],
};

// ---- Moderation ----------------------------------------------------------

/** A request about one question: its card is busy meanwhile, the ack's question is kept, a refusal shown. */
export async function requestFor(id, name, payload) {
  busy.add(id);
  render();
  const ack = await request(name, payload);
  busy.delete(id);
  if (ack.ok && ack.question) upsert(ack.question);
  render();
  if (!ack.ok) toastError(ack.error.message);
  return ack;
}

async function moderate(id, action) {
  return (await requestFor(id, 'question:moderate', { id, action })).ok;
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

export function track(promise) {
  running.add(promise);
  promise.finally(() => running.delete(promise));
  return promise;
}

export function act(id, action) {
  return track(actNow(id, action));
}

/** Whether the moderator moved on while a request was out (picked another card, or is typing in a
 * form): the broadcasts that show an action come before its ack, so there is time to. The end of
 * the action must then leave the selection and the focus where the moderator put them. */
function movedOn(selectedAtStart) {
  const typing = document.activeElement && document.activeElement.closest('form, input, textarea, select');
  return state.selectedId !== selectedAtStart || Boolean(typing);
}

async function actNow(id, action) {
  const q = questions.get(id);
  if (!q || busy.has(id)) return;
  const selectedAtStart = state.selectedId;
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
  if (!movedOn(selectedAtStart)) {
    if (next !== null && list && !(moved && moved.parentElement === list)) select(next, { focus: true });
    else if (moved && state.selectedId === id) moved.focus({ preventScroll: true });
  }
  toast((SAID[action] && SAID[action][0]) || t('Done.'), { actionLabel: t('Undo (z)'), onAction: undo, timeout: 3500 });
}

export async function mergeInto(id, into) {
  if (busy.has(id)) return;
  const selectedAtStart = state.selectedId;
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
  if (next !== null && !movedOn(selectedAtStart)) select(next, { focus: true });
  toast(t('Merged into %(question)s; its votes moved there.', { question: describe(into) }));
}

export function runAction(id, action) {
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

/** Mark every question of one author blocked or not (from an ack or `participant:blocked`). */
export function markBlocked(ids, blocked) {
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
  if (card && state.selectedId === id && !card.contains(document.activeElement)) card.focus({ preventScroll: true });
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

export async function undo() {
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
  const selectedAtStart = state.selectedId;
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
  // Else the keys typed next in a form opened meanwhile would go to the card.
  if (entry.id !== undefined && !movedOn(selectedAtStart)) select(entry.id, { focus: true });
  toast((SAID[entry.label] && SAID[entry.label][1]) || t('Undone.'));
}
