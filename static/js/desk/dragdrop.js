// Drag and drop inside the queue: a queue card is draggable (cards.js sets when), the list takes the drop.

import { h } from '../lib/dom.js';
import { track } from './actions.js';
import { select } from './keyboard.js';
import { reorder } from './queue.js';
import { el, queueIds, state } from './state.js';

let dropMarker = null;

function clearDropMarker() {
  if (dropMarker) dropMarker.remove();
  dropMarker = null;
  el.queueList.classList.remove('is-drop-target');
}

export function makeDraggable(card, id) {
  card.addEventListener('dragstart', (e) => {
    state.draggingId = id;
    card.classList.add('is-dragging');
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', String(id));
  });
  card.addEventListener('dragend', () => {
    state.draggingId = null;
    card.classList.remove('is-dragging');
    clearDropMarker();
  });
}

function dropIndex(clientY) {
  const others = Array.from(el.queueList.querySelectorAll('.card')).filter((c) => Number(c.dataset.id) !== state.draggingId);
  for (let i = 0; i < others.length; i += 1) {
    const box = others[i].getBoundingClientRect();
    if (clientY < box.top + box.height / 2) return { index: i, before: others[i] };
  }
  return { index: others.length, before: null };
}

el.queueList.addEventListener('dragover', (e) => {
  if (state.draggingId === null) return;
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
  if (state.draggingId === null) return;
  e.preventDefault();
  const id = state.draggingId;
  const { before } = dropIndex(e.clientY);
  clearDropMarker();
  const ids = queueIds().filter((x) => x !== id);
  const at = before ? ids.indexOf(Number(before.dataset.id)) : -1;
  ids.splice(at < 0 ? ids.length : at, 0, id);
  select(id);
  track(reorder(ids));
});
