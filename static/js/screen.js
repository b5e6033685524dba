// Projector screen: the live question as large as fits, the next few, cross-faded.

import { setThemeBackdrop } from './lib/colour.js';
import { connect } from './lib/connection.js';
import { h } from './lib/dom.js';
import { elementsById, pageData } from './lib/page.js';
import { PUBLIC } from './lib/status.js';
import { setThemeIndex, themeInfo } from './lib/themes.js';
import { formatNumber, localizeEvent, t, tn } from './i18n.js';

// Theme colours colour text here, on the dark segment band: lighten them until they read.
setThemeBackdrop('#121a2a', 4.5);

const data = pageData();
const code = data.code;
let event = data.event;
const onlyTheme = new URLSearchParams(window.location.search).get('theme') || null;

const el = elementsById([
  'stage', 'joinUrl', 'joinCode', 'qr', 'segment', 'segmentLabel', 'segmentPrompt', 'live', 'next', 'conn',
], {
  title: 'event-title', closed: 'band-closed',
});

const NEXT_MAX = 5;
const FADE_MS = 650;

const questions = new Map();
let order = [];
let liveSignature = null;
let nextSignature = null;
let ended = false; // the event was deleted

const shownUrl = (data.participantUrl || '').replace(/^https?:\/\//, '').replace(/\/$/, '');

// ---- State ---------------------------------------------------------------

function upsert(q) {
  const merged = { ...questions.get(q.id), ...q };
  if (PUBLIC.has(merged.status)) {
    questions.set(q.id, merged);
    if (!order.includes(q.id)) order.push(q.id);
  } else {
    questions.delete(q.id);
    order = order.filter((id) => id !== q.id);
  }
}

const matches = (q) => !onlyTheme || q.theme === onlyTheme;
// Next up follows the discussion segment (the active theme) unless ?theme= picked one; the
// question on air is shown whatever its theme: the moderator chose it.
const upNext = (q) => matches(q) && (onlyTheme || !event.active_theme || q.theme === event.active_theme);

/** Put current vote counts into the shown items (the newest layer), if they changed. */
function refreshVotes(container, items) {
  const layers = container.querySelectorAll('.layer');
  const layer = layers[layers.length - 1];
  if (!layer) return;
  for (const q of items) {
    const item = layer.dataset.id === String(q.id) ? layer : layer.querySelector(`[data-id="${q.id}"]`);
    const tag = item && item.querySelector('.live-votes, .next-votes');
    if (tag && tag.dataset.n !== String(q.votes || 0)) {
      tag.replaceWith(votesTag(q, tag.className));
      // A longer number can wrap the meta line onto two, taking room from the question.
      if (layer.parentElement === el.live) fitLive(layer);
    }
  }
}

/** A question's votes: the number to see, "12 votes" to hear. */
function votesTag(q, cls) {
  const n = q.votes || 0;
  return h('span', { class: cls, 'data-n': String(n) },
    h('span', { 'aria-hidden': 'true' }, `▲ ${formatNumber(n)}`),
    h('span', { class: 'visually-hidden' }, tn('%(num)d vote', '%(num)d votes', n, { num: n })));
}

function inOrder() {
  const seen = new Set();
  const out = [];
  for (const id of order) {
    const q = questions.get(id);
    if (q && !seen.has(id)) { seen.add(id); out.push(q); }
  }
  for (const q of questions.values()) if (!seen.has(q.id)) out.push(q);
  return out;
}

// ---- Cross-fade ----------------------------------------------------------

/** Swap container's content for a new layer that fades in over the old one (`instant`: at once,
 * for the same content laid out again, which should not blink). */
function crossFade(container, children, prepare, instant = false) {
  const layer = h('div', { class: instant ? 'layer' : 'layer is-entering' }, ...children);
  const old = Array.from(container.children).filter((c) => !c.classList.contains('is-leaving'));
  container.append(layer);
  if (prepare) prepare(layer);
  if (instant) {
    for (const layerOld of old) layerOld.remove();
    return layer;
  }
  void layer.offsetWidth; // commit the transparent start so the transition runs
  layer.classList.remove('is-entering');
  for (const layerOld of old) {
    layerOld.classList.add('is-leaving');
    setTimeout(() => layerOld.remove(), FADE_MS + 100);
  }
  return layer;
}

// ---- Fit the live question -----------------------------------------------

// The live question's largest size, as a share of the stage's height: a short question fills the
// centre rather than sitting at a heading's size, but a one-word one does not become a poster.
const LIVE_MAX = 0.18;
const LIVE_MIN = 0.028;

/** Largest font size at which the whole text fits its box: nothing cut, no scrollbars.
 * The box is measured as it is laid out (the room left under the meta line, in this layer, at this
 * size), not computed from paddings and gaps: a sum of rounded parts is what let the last word
 * slip below the edge. */
function fitLive(layer) {
  const text = layer.querySelector('.live-text');
  const box = layer.querySelector('.live-box');
  if (!text || !box) return;
  const stageHeight = el.stage.clientHeight || window.innerHeight;
  // While fitting, the box takes all the room the layer has for it (see .is-fitting in screen.css).
  layer.classList.add('is-fitting');
  const fits = () => text.scrollHeight <= box.clientHeight && text.scrollWidth <= box.clientWidth;
  let lo = Math.max(12, stageHeight * LIVE_MIN);
  let hi = stageHeight * LIVE_MAX;
  text.style.fontSize = `${hi}px`;
  if (!fits()) {
    text.style.fontSize = `${lo}px`;
    // Even the floor is too large for a very long question: go lower rather than cut it.
    while (!fits() && lo > 8) { lo = Math.max(8, lo * 0.85); text.style.fontSize = `${lo}px`; }
    for (let i = 0; i < 16 && hi - lo > 0.5; i += 1) {
      const mid = (lo + hi) / 2;
      text.style.fontSize = `${mid}px`;
      if (fits()) lo = mid; else hi = mid;
    }
    text.style.fontSize = `${Math.floor(lo * 2) / 2}px`;
  }
  layer.classList.remove('is-fitting');
}

/** The largest font size (between min and max, px) at which `node` fits `height` px without
 * overflowing: a title or guiding question is never cut while the screen has room for it. */
function fitText(node, min, max, height) {
  if (!node || !node.textContent) return;
  const fits = () => node.scrollHeight <= height + 1;
  node.style.fontSize = `${max}px`;
  if (fits()) return;
  let lo = min;
  let hi = max;
  for (let i = 0; i < 14 && hi - lo > 0.5; i += 1) {
    const mid = (lo + hi) / 2;
    node.style.fontSize = `${mid}px`;
    if (fits()) lo = mid; else hi = mid;
  }
  node.style.fontSize = `${lo}px`;
}

/** Title and guiding question: as large as their room allows, at most three lines' worth. */
function fitBand() {
  const h = el.stage.clientHeight || window.innerHeight;
  fitText(el.title, h * 0.022, h * 0.042, h * 0.15);
  if (!el.segment.hidden) fitText(el.segmentPrompt, h * 0.02, h * 0.04, h * 0.13);
}

/** Drop "Next up" items from the end until the rest fit. */
function trimNext(layer) {
  const list = layer.querySelector('.next-list');
  if (!list) return;
  while (list.children.length > 1 && layer.scrollHeight > el.next.clientHeight + 1) {
    list.lastElementChild.remove();
  }
}

function refit() {
  fitBand();
  const current = el.live.querySelector('.layer:not(.is-leaving)');
  if (current) { fitLive(current); fitIdle(current); }
  const next = el.next.querySelector('.layer:not(.is-leaving)');
  if (next) {
    nextSignature = null; // rebuild: items dropped for a small screen may fit now
    renderNext(true);
  }
}

// ---- Rendering -----------------------------------------------------------

function renderBand() {
  const before = `${el.title.textContent}|${el.segmentPrompt.textContent}|${el.segment.hidden}`;
  el.title.textContent = event.title || '';
  document.title = `${event.title || t('Questions')} · ${t('Screen')}`;
  el.joinCode.textContent = event.code || code;
  el.joinUrl.textContent = shownUrl;
  el.closed.hidden = event.submissions_open !== false;

  const key = onlyTheme || event.active_theme;
  const theme = key ? themeInfo(event, key) : null;
  el.segment.hidden = !theme;
  if (theme) {
    setThemeIndex(el.segment, event, key);
    el.segmentLabel.textContent = theme.label;
    el.segmentPrompt.textContent = theme.prompt;
    el.segmentPrompt.hidden = !theme.prompt;
  }
  if (`${el.title.textContent}|${el.segmentPrompt.textContent}|${el.segment.hidden}` !== before) fitBand();
}

/** A theme's label made short enough for a "Next up" row: up to the first "&", ":", "," or " – ",
 * then whole words up to SHORT_LABEL characters, without a dangling "and", "et", "y". */
const SHORT_LABEL = 26;
function shortLabel(label) {
  const head = String(label).split(/\s[&:–—-]\s|[,:;(]\s?/)[0].trim() || String(label);
  if (head.length <= SHORT_LABEL) return head;
  const words = [];
  for (const word of head.split(/\s+/)) {
    if ([...words, word].join(' ').length > SHORT_LABEL) break;
    words.push(word);
  }
  while (words.length > 1 && words[words.length - 1].length <= 3) words.pop();
  return words.length ? words.join(' ') : head.slice(0, SHORT_LABEL);
}

function screenTheme(key, short = false) {
  const info = themeInfo(event, key);
  const label = short ? shortLabel(info.label) : info.label;
  const span = h('span', { class: 'screen-theme' }, label);
  if (label !== info.label) span.title = info.label;
  setThemeIndex(span, event, key);
  return span;
}

function renderLive() {
  if (ended) {
    if (liveSignature === 'ended') return;
    liveSignature = 'ended';
    crossFade(el.live, [
      h('p', { class: 'idle-title' }, t('This event has ended.')),
      h('p', { class: 'idle-text' }, t('Thank you for your questions')),
    ]);
    return;
  }
  const live = inOrder().find((q) => q.live && matches(q)) || null;
  const signature = live
    ? JSON.stringify(['q', live.id, live.text, live.name, live.theme, event.themes])
    : JSON.stringify(['idle', event.code, event.submissions_open, shownUrl]);
  if (signature === liveSignature) {
    if (live) refreshVotes(el.live, [live]);  // numbers change in place: no cross-fade 4 times a second
    return;
  }
  liveSignature = signature;
  // Nothing on air: the join code and a large QR code take the centre, and leave the band.
  el.stage.classList.toggle('is-idle', !live);

  if (live) {
    const layer = crossFade(el.live, [
      h('div', { class: 'live-box' }, h('p', { class: 'live-text', lang: live.language || null }, live.text)),
      h('p', { class: 'live-meta' },
        h('span', { class: 'live-onair' }, t('On air')),
        screenTheme(live.theme),
        votesTag(live, 'live-votes'),
        h('span', { class: 'live-name' }, live.name || t('Anonymous'))),
    ], fitLive);
    layer.dataset.id = String(live.id);
    return;
  }
  const closed = event.submissions_open === false;
  // The code is shown large below: the sentence need not repeat it.
  const words = [
    closed
      ? h('p', { class: 'idle-title idle-closed' }, t('Questions are closed'))
      : h('p', { class: 'idle-title' }, t('Ask your question')),
    h('p', { class: 'idle-text' }, ...withStrong(
      closed ? t('Scan the QR code or go to %(url)s to follow the questions and vote.')
        : t('Scan the QR code or go to %(url)s'),
      { url: shownUrl || t('the event page') },
    )),
  ];
  const idle = [h('div', { class: 'idle' },
    h('div', { class: 'idle-qr' }, h('img', { src: data.qrUrl || el.qr.getAttribute('src'), alt: t('QR code that opens the question page') })),
    h('div', { class: 'idle-words' },
      ...words,
      h('p', { class: 'idle-code' }, h('span', { class: 'idle-code-label' }, t('Code')), ' ',
        h('strong', {}, event.code || code))))];
  crossFade(el.live, idle, fitIdle);
}

/** The idle words as large as the centre allows beside the QR code. */
function fitIdle(layer) {
  const words = layer.querySelector('.idle-words');
  if (!words) return;
  const h = el.stage.clientHeight || window.innerHeight;
  const style = getComputedStyle(layer);
  const room = layer.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  fitText(words, h * 0.018, h * 0.04, room);
}

/** A translated sentence as nodes, its %(name)s parameters in bold (word order is the translator's). */
function withStrong(sentence, params) {
  return sentence.split(/(%\(\w+\)s)/).map((part) => {
    const name = part.match(/^%\((\w+)\)s$/);
    return name && name[1] in params ? h('strong', {}, params[name[1]]) : part;
  }).filter((part) => part !== '');
}

/** `relayout`: the same items again for a new size (see refit), shown without a fade. */
function renderNext(relayout = false) {
  const upcoming = ended ? [] : inOrder()
    .filter((q) => q.status === 'approved' && !q.live && upNext(q))
    .slice(0, NEXT_MAX);
  const signature = JSON.stringify([upcoming.map((q) => [q.id, q.text, q.theme]), event.themes, ended]);
  el.next.parentElement.hidden = ended;
  if (signature === nextSignature) {
    refreshVotes(el.next, upcoming);
    return;
  }
  nextSignature = signature;
  if (!upcoming.length) {
    crossFade(el.next, ended ? [] : [h('p', { class: 'next-empty' }, t('More questions soon.'))], null, relayout);
    return;
  }
  const list = h('ol', { class: 'next-list' }, ...upcoming.map((q, i) => {
    const li = h('li', { class: 'next-item', 'data-id': q.id },
      h('span', { class: 'next-num' }, String(i + 1)),
      h('span', { class: 'next-text', lang: q.language || null }, q.text),
      screenTheme(q.theme, true),
      votesTag(q, 'next-votes'));
    setThemeIndex(li, event, q.theme);
    return li;
  }));
  crossFade(el.next, [list], trimNext, relayout);
}

function render() {
  renderBand();
  renderLive();
  renderNext();
}

// ---- Connection ----------------------------------------------------------

function onSnapshot(snap) {
  if (snap.event) event = { ...event, ...localizeEvent(snap.event) };
  questions.clear();
  order = [];
  for (const q of snap.questions || []) upsert(q);
  render();
}

render();
if (window.ResizeObserver) {
  // The live area shrinks when a segment band appears, and with the window: refit.
  let last = '';
  new ResizeObserver(() => {
    const size = `${el.live.clientWidth}x${el.live.clientHeight}`;
    if (size !== last) { last = size; refit(); }
  }).observe(el.live);
}
if (document.fonts) {
  // Text measured in a fallback font is refitted once the real one arrives (ready resolves early
  // when nothing was loading yet; loadingdone catches fonts requested later, e.g. another script).
  if (document.fonts.ready) document.fonts.ready.then(refit);
  document.fonts.addEventListener('loadingdone', () => refit());
}

const conn = connect({
  code,
  role: 'screen',
  onSnapshot,
  onStatus: (state, message) => {
    if (ended) return;
    el.conn.dataset.state = state;
    el.conn.hidden = state === 'connected';
    el.conn.textContent = state === 'refused' ? (message || t('Not connected'))
      : state === 'connecting' ? t('Connecting…') : t('Reconnecting…');
  },
  on: {
    'question:update': (p) => { if (p && p.question) { upsert(p.question); render(); } },
    'question:remove': (p) => {
      if (!p) return;
      questions.delete(p.id);
      order = order.filter((id) => id !== p.id);
      render();
    },
    'queue:order': (p) => {
      if (!p || !Array.isArray(p.ids)) return;
      order = [...p.ids, ...order.filter((id) => !p.ids.includes(id))];
      render();
    },
    'event:update': (p) => { if (p && p.event) { event = { ...event, ...localizeEvent(p.event) }; render(); } },
    votes: (p) => {
      if (!p || typeof p.counts !== 'object' || p.counts === null) return;
      for (const [id, n] of Object.entries(p.counts)) {
        const q = questions.get(Number(id));
        if (q && Number.isFinite(n)) questions.set(q.id, { ...q, votes: n });
      }
      render();
    },
    'event:closed': () => {
      // Deleted by the organiser: say so and stop reconnecting.
      ended = true;
      conn.stop();
      el.conn.hidden = true;
      event = { ...event, submissions_open: false, active_theme: null };
      questions.clear();
      order = [];
      render();
    },
  },
});
