// The Socket.IO connection every live page opens: connect, re-sync on each snapshot, resend
// the outbox, reconnect at once when the network is back; and the status it shows.

import { lang, t } from '../i18n.js';

const ACK_TIMEOUT_MS = 8000;

// Error codes worth trying again later; anything else is final.
export const RETRYABLE = new Set(['unavailable', 'rate_limited', 'timeout', 'offline']);

/**
 * Open the Socket.IO connection for one page.
 *
 * auth()      extra auth fields, read afresh before every (re)connect
 * on          {eventName: handler} for server pushes
 * onSnapshot  called with each snapshot: the page replaces its state with it
 * onStatus    (state, message) with state connecting|connected|reconnecting|refused
 * outbox      {box, event, payload(item), onSent(ack, item), onFailed(item, error), onWait(item, error)}
 */
export function connect({ code, role, auth, on = {}, onSnapshot, onStatus, outbox }) {
  const socket = window.io({
    // A function, so a participant id learnt from a snapshot goes into the next connect.
    // `lang`: the server answers acks and refusals in the page's language.
    auth: (cb) => cb({ event: code, role, lang, ...(auth ? auth() : {}) }),
    reconnectionDelay: 1000,
    reconnectionDelayMax: 10000,
    timeout: 10000,
  });

  let status = 'connecting';
  let stopped = false; // closed for good: revoked, event gone, or refused
  let retryTimer = null;
  let retryDelay = 1000;
  const setStatus = (state, message) => {
    status = state;
    if (onStatus) onStatus(state, message || '');
  };

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    if (stopped) return;
    retryTimer = setTimeout(() => {
      if (!socket.connected) socket.connect();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  let connectedAt = 0;
  let offlineAt = 0;

  socket.on('connect', () => {
    retryDelay = 1000;
    connectedAt = Date.now();
    setStatus('connected');
  });

  socket.on('snapshot', (data) => {
    if (onSnapshot) onSnapshot(data || {});
    flush();
  });

  socket.on('disconnect', (reason) => {
    if (stopped) {
      socket.disconnect(); // and keep socket.io's own reconnection from trying
      return;
    }
    if (reason === 'io client disconnect') return;
    setStatus('reconnecting');
    // The server hung up on purpose: socket.io will not retry by itself.
    if (reason === 'io server disconnect') scheduleReconnect();
  });

  socket.on('connect_error', (err) => {
    if (stopped) return;
    if (socket.active) {
      // A network problem: socket.io keeps retrying with backoff.
      setStatus('reconnecting');
      return;
    }
    const codeOf = err && err.data && err.data.code;
    if (codeOf && RETRYABLE.has(codeOf)) {
      setStatus('reconnecting', err.message);
      scheduleReconnect();
      return;
    }
    // Refused on purpose (unknown event, wrong token…): trying again would not help.
    stopped = true;
    forget();
    clearTimeout(retryTimer);
    setStatus('refused', (err && err.message) || t('The server refused the connection.'));
  });

  for (const [name, handler] of Object.entries(on)) socket.on(name, handler);

  // socket.io-client retries on its own with a growing delay (up to reconnectionDelayMax),
  // and socket.connect() does nothing while such a retry is pending: after 30 s offline a
  // page came back 5-10 s late. Closing the socket closes its Manager, which cancels the
  // pending retry and resets the backoff; connecting again then opens at once.
  function reconnectNow() {
    if (stopped || status === 'refused') return;
    clearTimeout(retryTimer);
    setStatus('reconnecting');
    socket.disconnect();
    socket.connect();
  }

  function onOffline() {
    offlineAt = Date.now();
  }

  function onOnline() {
    // A connection from before the outage may be dead without knowing it yet (a ping
    // timeout takes up to 45 s) and missed what was sent meanwhile: its snapshot is stale.
    if (socket.connected && connectedAt > offlineAt) return;
    reconnectNow();
  }

  function onVisible() {
    // A hidden tab's timers are throttled (down to once a minute), retries included.
    if (document.visibilityState === 'visible' && !socket.connected) reconnectNow();
  }

  window.addEventListener('offline', onOffline);
  window.addEventListener('online', onOnline);
  document.addEventListener('visibilitychange', onVisible);

  function forget() {
    window.removeEventListener('offline', onOffline);
    window.removeEventListener('online', onOnline);
    document.removeEventListener('visibilitychange', onVisible);
  }

  /** Emit with an ack; always resolves to {ok:true,…} or {ok:false,error:{code,message}}. */
  function request(name, payload) {
    return new Promise((resolve) => {
      if (!socket.connected) {
        resolve({ ok: false, error: { code: 'offline', message: t('You are offline. Try again when the connection is back.') } });
        return;
      }
      socket.timeout(ACK_TIMEOUT_MS).emit(name, payload, (err, ack) => {
        if (err) {
          resolve({ ok: false, error: { code: 'timeout', message: t('The server did not answer in time. Try again.') } });
        } else if (!ack || typeof ack !== 'object') {
          resolve({ ok: false, error: { code: 'bad_response', message: t('The server sent an answer this page does not understand.') } });
        } else if (!ack.ok && !ack.error) {
          resolve({ ok: false, error: { code: 'unknown', message: t('That did not work. Try again.') } });
        } else {
          resolve(ack);
        }
      });
    });
  }

  // Resend every unacknowledged submission, oldest first, with its own client_id.
  let flushing = false;
  let flushAgain = false;
  let flushTimer = null;
  let flushDelay = 2000;

  async function flush() {
    if (!outbox || !socket.connected) return;
    if (flushing) { flushAgain = true; return; }
    flushing = true;
    clearTimeout(flushTimer);
    try {
      for (const item of outbox.box.items()) {
        if (!socket.connected) break;
        const ack = await request(outbox.event, outbox.payload(item));
        if (ack.ok) {
          outbox.box.remove(item.client_id);
          flushDelay = 2000;
          if (outbox.onSent) outbox.onSent(ack, item);
          continue;
        }
        if (RETRYABLE.has(ack.error.code)) {
          if (outbox.onWait) outbox.onWait(item, ack.error);
          if (ack.error.code !== 'offline') {
            // Keep it and try again later; the next connect also retries.
            flushTimer = setTimeout(flush, flushDelay);
            flushDelay = Math.min(flushDelay * 2, 30000);
          }
          break;
        }
        outbox.box.remove(item.client_id);
        if (outbox.onFailed) outbox.onFailed(item, ack.error);
      }
    } finally {
      flushing = false;
    }
    if (flushAgain) {
      flushAgain = false;
      flush();
    }
  }

  return {
    socket,
    request,
    flush,
    get status() { return status; },
    get connected() { return socket.connected; },
    /**
     * Stop for good after the server said goodbye (revoked token, deleted event): no reconnect,
     * no resend. The server hangs up itself; closing under it makes the browser log an error.
     */
    stop() {
      stopped = true;
      forget();
      clearTimeout(retryTimer);
      clearTimeout(flushTimer);
      if (!socket.connected) socket.disconnect();
      else setTimeout(() => socket.disconnect(), 3000);
    },
    /** Disconnect for good: no reconnect, no resend. */
    close() {
      stopped = true;
      forget();
      clearTimeout(retryTimer);
      clearTimeout(flushTimer);
      socket.disconnect();
    },
  };
}

// Plain strings: i18n.js awaits the page's messages before any module that imports it runs.
const CONN_TEXT = {
  connecting: t('Connecting…'),
  connected: t('Connected'),
  reconnecting: t('Reconnecting…'),
  refused: t('Not connected'),
  ended: t('Event ended'),
};

/** Show the connection's state in words (and as data-state for its colour). */
export function showConnection(el, state) {
  if (!el) return;
  el.dataset.state = state;
  const text = el.querySelector('.conn-text') || el;
  text.textContent = CONN_TEXT[state] || state;
}
