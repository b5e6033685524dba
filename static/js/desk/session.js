// The moderator token and the connection: snapshot, pushed changes, a revoked link, a deleted event.

import { connect, showConnection } from '../lib/connection.js';
import { announce, h } from '../lib/dom.js';
import { storage } from '../lib/storage.js';
import { themeInfo } from '../lib/themes.js';
import { formatNumber, t, tn } from '../i18n.js';
import { markBlocked } from './actions.js';
import { applyEvent } from './header.js';
import { select, selectableCards } from './keyboard.js';
import { withQueueOrder } from './queue.js';
import { render, scalePreview } from './render.js';
import { cards, code, el, questions, state, upsert } from './state.js';

export const TOKEN_KEY = `qa:modtoken:${code}`;

// ---- Token ---------------------------------------------------------------

export function tokenFromHash() {
  const match = window.location.hash.match(/[#&]token=([^&]+)/);
  if (!match) return null;
  // Out of the address bar and history, so it is not shared by accident.
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  try { return decodeURIComponent(match[1]); } catch { return match[1]; }
}

export function saveToken(value) {
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

export function askForToken(message) {
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

export async function request(name, payload) {
  if (!state.conn) return { ok: false, error: { code: 'offline', message: t('Not connected.') } };
  const ack = await state.conn.request(name, payload);
  // Rotated from another server process: this socket learns it at its next action.
  if (!ack.ok && ack.error.code === 'unauthorized') revoked();
  return ack;
}

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
  state.order = [];
  for (const q of snap.questions || []) upsert(q);
  if (state.editingId !== null && !questions.has(state.editingId)) state.editingId = null;
  if (state.replyingId !== null && !questions.has(state.replyingId)) state.replyingId = null;
  if (state.labellingId !== null && !questions.has(state.labellingId)) state.labellingId = null;
  el.tokenPanel.hidden = true;
  showDesk(true);
  scalePreview();
  render();
  if (!state.synced && state.selectedId === null) {
    const first = selectableCards()[0];
    if (first) select(Number(first.dataset.id));
  }
  state.synced = true;
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
    announce(el.announcer, t('New question in Incoming: %(theme)s.', { theme: themeInfo(state.event, q.theme).label }));
  }
}

/** The organiser gave this event a new moderator token: this link is dead, stop for good. */
function revoked() {
  if (state.ended) return;
  if (state.conn) state.conn.stop();
  state.conn = null;
  state.token = null;
  forgetToken();
  if (el.blockDialog.open) el.blockDialog.close('cancel');
  askForToken(t('This moderator link is no longer valid; ask the organiser for the new one.'));
}

/** The event was deleted: nothing left to moderate. */
function eventClosed() {
  if (state.ended) return;
  state.ended = true;
  if (state.conn) state.conn.stop();
  state.conn = null;
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

export function start(value) {
  state.token = value;
  if (state.conn) state.conn.close();
  el.tokenPanel.hidden = true;
  state.conn = connect({
    code,
    role: 'moderator',
    auth: () => ({ token: state.token }),
    onSnapshot,
    onStatus: (state, message) => {
      if (state.ended) return;
      showConnection(el.conn, state);
      if (state === 'refused') {
        forgetToken();
        if (state.conn) state.conn.close();
        askForToken(message || t('The moderator token was not accepted.'));
      }
    },
    on: {
      'question:new': (p) => onQuestion(p, true),
      'question:update': (p) => onQuestion(p, false),
      'question:remove': (p) => {
        // Moderators keep every question; only its public position goes.
        if (!p) return;
        state.order = state.order.filter((id) => id !== p.id);
        render();
      },
      'queue:order': (p) => {
        if (!p || !Array.isArray(p.ids)) return;
        state.order = withQueueOrder(p.ids);
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
