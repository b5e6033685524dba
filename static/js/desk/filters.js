// The desk's filters: language, theme, label, star and search, and the choices they offer.

import { announce, h } from '../lib/dom.js';
import { languageName, t } from '../i18n.js';
import { render } from './render.js';
import { cards, el, eventLabels, labelsOf } from './state.js';

// The languages a question can be detected in, for the desk's filter.
const QUESTION_LANGUAGES = ['en', 'fr', 'es'];

// ---- Language filter -----------------------------------------------------

el.languageFilter.append(
  ...QUESTION_LANGUAGES.map((code) => h('option', { value: code, lang: code }, languageName(code))),
  h('option', { value: 'none' }, t('Not detected')),
);
/** Draw every card again: what a card shows depends on more than its question (filters, time). */
export function redrawAll() {
  for (const card of cards.values()) card.signature = null;
  render();
}

el.languageFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.languageFilter.value
    ? t('Showing questions in %(language)s only.', { language: el.languageFilter.selectedOptions[0].textContent })
    : t('Showing questions in all languages.'));
});

// ---- Theme filter and search ---------------------------------------------

el.themeFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.themeFilter.value
    ? t('Showing questions on %(theme)s only.', { theme: el.themeFilter.selectedOptions[0].textContent })
    : t('Showing questions on every theme.'));
});

let searchTimer = null;
el.search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(redrawAll, 150);
});

// ---- Labels and star filters ------------------------------------------------

let labelsSignature = '';

/** The label filter and the editor's suggestions follow the labels in use. */
export function renderLabelChoices() {
  const all = eventLabels();
  const signature = JSON.stringify(all);
  if (signature === labelsSignature) return;
  labelsSignature = signature;
  const chosen = el.labelFilter.value;
  el.labelFilter.replaceChildren(
    h('option', { value: '' }, t('All labels')),
    ...all.map((label) => h('option', { value: label }, label)),
  );
  // A filter on a label no question carries any more would hide everything for no visible reason.
  el.labelFilter.value = all.includes(chosen) ? chosen : '';
  el.labelOptions.replaceChildren(...all.map((label) => h('option', { value: label })));
}

el.labelFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.labelFilter.value
    ? t('Showing questions labelled %(label)s only.', { label: el.labelFilter.value })
    : t('Showing questions with any label.'));
});

el.starFilter.addEventListener('change', () => {
  redrawAll();
  announce(el.announcer, el.starFilter.checked ? t('Showing starred questions only.') : t('Showing every question.'));
});

/** Lower case, without accents: "Accès" is found by "acces". */
const folded = (text) => (text || '').normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();

export const filtersOn = () => Boolean(el.languageFilter.value || el.themeFilter.value || el.search.value.trim()
  || el.labelFilter.value || el.starFilter.checked);

/** The questions the desk's filters let through: language, theme, and words in the text or name. */
export function shownByFilters(items) {
  const language = el.languageFilter.value;
  const theme = el.themeFilter.value;
  const words = folded(el.search.value).split(/\s+/).filter(Boolean);
  const label = el.labelFilter.value;
  const starred = el.starFilter.checked;
  if (!language && !theme && !words.length && !label && !starred) return items;
  return items.filter((q) => {
    if (language && (language === 'none' ? q.language : q.language !== language)) return false;
    if (theme && q.theme !== theme) return false;
    if (starred && !q.starred) return false;
    if (label && !labelsOf(q).some((l) => l.toLocaleLowerCase() === label.toLocaleLowerCase())) return false;
    const haystack = folded(`${q.text} ${q.name || ''}`);
    return words.every((word) => haystack.includes(word));
  });
}
