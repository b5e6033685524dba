// The queue's order: moves by button or key, and the reorder request.

import { t } from '../i18n.js';
import { track } from './actions.js';
import { render } from './render.js';
import { request } from './session.js';
import { cards, queueIds, state, undoStack } from './state.js';
import { toast, toastError } from './toasts.js';

export function withQueueOrder(ids) {
  // The approved part takes the new order; the other public ids keep theirs.
  const rest = state.order.filter((id) => !ids.includes(id));
  return [...ids, ...rest];
}

export async function reorder(ids, { record = true } = {}) {
  const before = queueIds();
  if (JSON.stringify(before) === JSON.stringify(ids)) return true;
  const saved = state.order.slice();
  state.order = withQueueOrder(ids);
  render();
  const ack = await request('queue:reorder', { ids });
  if (!ack.ok) {
    state.order = saved;
    render();
    toastError(ack.error.message);
    return false;
  }
  if (Array.isArray(ack.ids)) state.order = withQueueOrder(ack.ids);
  render();
  if (record) undoStack.push({ kind: 'reorder', before, label: 'reorder' });
  return true;
}

export function moveInQueue(id, delta) {
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
    const shown = state.shownQueue.includes(id) ? state.shownQueue : queueIds();
    const neighbour = shown[shown.indexOf(id) + delta];
    if (neighbour === undefined) ids.splice(i, 0, id);
    else ids.splice(ids.indexOf(neighbour) + (delta > 0 ? 1 : 0), 0, id);
  }
  track(reorder(ids)).then(() => {
    const card = cards.get(id);
    if (card && state.selectedId === id) card.scrollIntoView({ block: 'nearest' });
  });
}
