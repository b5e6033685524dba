// Short notes in the corner: successes replace each other, errors stay until they time out.

import { h } from '../lib/dom.js';
import { t } from '../i18n.js';
import { el } from './state.js';

export function toast(message, { kind = 'info', actionLabel, onAction, timeout } = {}) {
  const box = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-text' }, message));
  if (actionLabel) {
    const button = h('button', { type: 'button', class: 'button button-small' }, actionLabel);
    button.addEventListener('click', () => { box.remove(); onAction(); });
    box.append(button);
  }
  // One success note at a time; errors stay until they time out.
  if (kind !== 'error') {
    for (const old of el.toasts.querySelectorAll('.toast-info')) old.remove();
  }
  el.toasts.append(box);
  while (el.toasts.children.length > 4) el.toasts.firstElementChild.remove();
  setTimeout(() => box.remove(), timeout || (kind === 'error' ? 8000 : 4000));
}

export const toastError = (message) => toast(message || t('That did not work.'), { kind: 'error' });
