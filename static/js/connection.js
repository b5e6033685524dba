// Shared by every page: the Socket.IO connection (connect, re-sync on each
// snapshot, resend the outbox) and the few DOM helpers all pages use.
// User text only ever goes into the DOM through textContent.

import { formatFullTime, formatShortTime, lang, localizeEvent, t } from './i18n.js';

const ACK_TIMEOUT_MS = 8000;

// Error codes worth trying again later; anything else is final.
export const RETRYABLE = new Set(['unavailable', 'rate_limited', 'timeout', 'offline']);

// ---- Storage that still works when the browser refuses localStorage -------

const memory = new Map();

function backing(kind) {
  try {
    const store = kind === 'session' ? window.sessionStorage : window.localStorage;
    store.setItem('qa:probe', '1');
    store.removeItem('qa:probe');
    return store;
  } catch {
    return null;
  }
}

export const storage = {
  get(key, kind = 'local') {
    const store = backing(kind);
    if (store) return store.getItem(key);
    return memory.has(`${kind}:${key}`) ? memory.get(`${kind}:${key}`) : null;
  },
  set(key, value, kind = 'local') {
    const store = backing(kind);
    if (store) {
      try { store.setItem(key, value); return; } catch { /* full: fall through */ }
    }
    memory.set(`${kind}:${key}`, value);
  },
  remove(key, kind = 'local') {
    const store = backing(kind);
    if (store) store.removeItem(key);
    memory.delete(`${kind}:${key}`);
  },
};

export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  // randomUUID needs a secure context; plain http on a LAN address is not one.
  const bytes = new Uint8Array(16);
  if (window.crypto && window.crypto.getRandomValues) {
    window.crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- What the server rendered into <body data-…> -------------------------

export function pageData() {
  const d = document.body.dataset;
  let event = null;
  if (d.event) {
    try { event = JSON.parse(d.event); } catch { event = null; }
  }
  return {
    page: d.page || '',
    code: d.code || (event && event.code) || '',
    event: localizeEvent(event),
    participantUrl: d.participantUrl || '',
    screenUrl: d.screenUrl || '',
    qrUrl: d.qrUrl || '',
  };
}

// ---- Outbox: submissions not yet acknowledged, kept across reloads --------

export class Outbox {
  constructor(key) {
    this.key = key;
  }

  items() {
    try {
      const parsed = JSON.parse(storage.get(this.key) || '[]');
      return Array.isArray(parsed) ? parsed.filter((i) => i && i.client_id) : [];
    } catch {
      return [];
    }
  }

  save(items) {
    if (items.length) storage.set(this.key, JSON.stringify(items));
    else storage.remove(this.key);
  }

  add(item) {
    const items = this.items().filter((i) => i.client_id !== item.client_id);
    items.push(item);
    this.save(items);
  }

  remove(clientId) {
    this.save(this.items().filter((i) => i.client_id !== clientId));
  }
}

// ---- The connection -------------------------------------------------------

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

// ---- DOM helpers ---------------------------------------------------------

/** h('p', {class: 'x', 'data-id': 3}, 'text', child) — children are text or nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Parse an ISO time; one without a zone is taken as UTC, as the server stores UTC. */
export function parseTime(iso) {
  if (!iso) return null;
  let s = String(iso);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(s)) s += 'Z';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A time in the page's language: "14:05", or "3 mars, 14:05" when not today. */
export function formatTime(iso) {
  const d = parseTime(iso);
  return d ? formatShortTime(d) : '';
}

export function timeEl(iso, className = 'time') {
  const d = parseTime(iso);
  return h('time', { class: className, datetime: d ? d.toISOString() : null, title: d ? formatFullTime(d) : null },
    formatTime(iso));
}

/** Theme by key: its label, prompt, colour ("#rrggbb" or ''), hidden, and fallback colour slot 1..6 (0 if unknown). */
export function themeInfo(event, key) {
  const themes = (event && event.themes) || [];
  const i = themes.findIndex((theme) => theme.key === key);
  if (i < 0) return { key, index: 0, label: key ? String(key) : t('No theme'), prompt: '', colour: '', hidden: false };
  const theme = themes[i];
  return {
    key,
    index: (i % 6) + 1,
    label: theme.label || key,
    prompt: theme.prompt || '',
    colour: HEX_COLOUR.test(theme.colour || '') ? theme.colour : '',
    hidden: Boolean(theme.hidden),
  };
}

/** The themes that still take questions: a hidden theme keeps its questions but takes no more. */
export function openThemes(event) {
  return ((event && event.themes) || []).filter((theme) => !theme.hidden);
}

// ---- Theme colours: the organiser's, kept legible ---------------------------

const HEX_COLOUR = /^#[0-9a-f]{6}$/i;
// What the colour has to stand out against, and by how much (WCAG contrast ratio):
// 3:1 for a stripe or dot on a light page; the screen asks for more (it colours text).
let backdrop = { colour: '#ffffff', ratio: 3 };

/** Set what theme colours must stand out against on this page. */
export function setThemeBackdrop(colour, ratio) {
  backdrop = { colour, ratio };
}

const channels = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const legible = new Map();

/** The colour, moved toward white (dark backdrop) or black (light one) just enough to stand out. */
export function legibleColour(hex) {
  if (!HEX_COLOUR.test(hex || '')) return '';
  const cacheKey = `${hex}|${backdrop.colour}|${backdrop.ratio}`;
  if (legible.has(cacheKey)) return legible.get(cacheKey);
  const base = channels(hex);
  const back = channels(backdrop.colour);
  const toward = luminance(back) < 0.18 ? 255 : 0;
  let rgb = base;
  for (let step = 1; step <= 20 && contrast(rgb, back) < backdrop.ratio; step += 1) {
    rgb = base.map((c) => Math.round(c + (toward - c) * (step / 20)));
  }
  const out = `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  legible.set(cacheKey, out);
  return out;
}

/** Give el its theme's colour as --theme (CSSOM, so the strict CSP allows it). */
export function setThemeIndex(el, event, key) {
  const { index, colour } = themeInfo(event, key);
  if (index) el.dataset.themeIndex = String(index);
  else delete el.dataset.themeIndex;
  const shown = legibleColour(colour);
  if (shown) el.style.setProperty('--theme', shown);
  else el.style.removeProperty('--theme');
}

export function themeTag(event, key, className = 'theme-tag') {
  const info = themeInfo(event, key);
  const el = h('span', { class: className }, info.label);
  setThemeIndex(el, event, key);
  return el;
}

const CONN_TEXT = {
  connecting: () => t('Connecting…'),
  connected: () => t('Connected'),
  reconnecting: () => t('Reconnecting…'),
  refused: () => t('Not connected'),
  ended: () => t('Event ended'),
};

export function showConnection(el, state) {
  if (!el) return;
  el.dataset.state = state;
  const text = el.querySelector('.conn-text') || el;
  text.textContent = CONN_TEXT[state] ? CONN_TEXT[state]() : state;
}

/** Say something to screen readers through a polite live region. */
export function announce(region, message) {
  if (!region) return;
  region.textContent = '';
  // A fresh node after a tick, so the same words twice are still read.
  setTimeout(() => { region.textContent = message; }, 50);
}

/** Put nodeFor(id) for each id into list, in order, moving existing nodes; drop the rest. */
export function syncList(list, ids, nodeFor) {
  const keep = new Set();
  let i = 0;
  for (const id of ids) {
    const node = nodeFor(id);
    keep.add(node);
    const at = list.children[i];
    if (at !== node) list.insertBefore(node, at || null);
    i += 1;
  }
  for (const child of Array.from(list.children)) {
    if (!keep.has(child)) child.remove();
  }
}

/** Run mutate() and scroll so that anchor stays where it was on screen. */
export function keepInPlace(anchors, mutate) {
  const before = anchors
    .filter((a) => a && a.el && a.el.isConnected)
    .map((a) => ({ ...a, top: a.el.getBoundingClientRect().top }));
  mutate();
  for (const a of before) {
    if (!a.el.isConnected) continue;
    const delta = a.el.getBoundingClientRect().top - a.top;
    if (Math.abs(delta) < 1) continue;
    if (a.scroller === window) window.scrollBy(0, delta);
    else a.scroller.scrollTop += delta;
  }
}
