// An event's themes: their labels and colours, as tags and stripes.

import { t } from '../i18n.js';
import { HEX_COLOUR, legibleColour } from './colour.js';
import { h } from './dom.js';

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
