// The page's language: the scripts' strings from the server's gettext catalogues
// (/i18n/<lang>.json, found by pybabel's javascript extractor: t() and tn()),
// and dates, times and numbers formatted for that language with Intl.

export const lang = document.documentElement.lang || 'en';

let messages = {};
const url = document.body.dataset.i18nUrl;
if (url && lang !== 'en') {
  // English is the msgids themselves; other languages wait for their catalogue.
  try {
    const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.ok) messages = (await res.json()).messages || {};
  } catch { /* unreachable: English rather than nothing */ }
}

const numbers = new Intl.NumberFormat(lang);
const plurals = new Intl.PluralRules(lang);

export function formatNumber(n) {
  return typeof n === 'number' && Number.isFinite(n) ? numbers.format(n) : String(n ?? '');
}

/** Fill %(name)s and %(name)d as Python does; numbers in the page's language. */
function fill(text, params) {
  if (!params) return text;
  return text.replace(/%\((\w+)\)[sd]|%%/g, (match, name) => {
    if (match === '%%') return '%';
    if (!(name in params)) return match;
    const value = params[name];
    return typeof value === 'number' ? formatNumber(value) : String(value ?? '');
  });
}

/** The translation of msgid (English), with %(name)s parameters filled in. */
export function t(msgid, params) {
  const text = messages[msgid];
  return fill(typeof text === 'string' && text ? text : msgid, params);
}

/** One of two forms by n (available as %(num)d): tn('%(num)d vote', '%(num)d votes', n). */
export function tn(one, other, n, params = {}) {
  const forms = messages[one];
  const which = plurals.select(n) === 'one' ? 0 : 1;
  const text = Array.isArray(forms) && forms[which] ? forms[which] : (which === 0 ? one : other);
  return fill(text, { num: n, ...params });
}

// ---- Dates and times -------------------------------------------------------

const timeOnly = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fullDate = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'short' });

/** "14:05" today, "3 mars, 14:05" another day: short, in the page's language. */
export function formatShortTime(date) {
  return date.toDateString() === new Date().toDateString() ? timeOnly.format(date) : dayAndTime.format(date);
}

/** The whole date, for a tooltip. */
export function formatFullTime(date) {
  return fullDate.format(date);
}

// ---- An event in the page's language ----------------------------------------

/** The event with its title, theme labels and guiding questions in the page's language. */
export function localizeEvent(event) {
  if (!event || typeof event !== 'object') return event;
  // {"fr": {"title": …, "themes": {key: {"label": …, "prompt": …}}}, "es": …}
  const own = (event.translations && event.translations[lang]) || {};
  const themes = own.themes || {};
  // Only what the event carries: a partial event ({} or one field) must not blank the rest.
  const out = { ...event };
  if ('title' in event) out.title = own.title || event.title;
  if (Array.isArray(event.themes)) {
    out.themes = event.themes.map((theme) => {
      const mine = themes[theme.key] || {};
      return { ...theme, label: mine.label || theme.label, prompt: mine.prompt || theme.prompt };
    });
  }
  return out;
}

// ---- Languages by name ---------------------------------------------------------

let names = null;
try { names = new Intl.DisplayNames([lang], { type: 'language' }); } catch { names = null; }

/** "French", "français", "francés": a language's name in the page's language. */
export function languageName(code) {
  const name = (names && code && names.of(code)) || code || '';
  return name.charAt(0).toLocaleUpperCase(lang) + name.slice(1);
}
