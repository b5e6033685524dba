// The event header: title, links, submissions switch, active theme and the exports.

import { h } from '../lib/dom.js';
import { lang, localizeEvent, t } from '../i18n.js';
import { request } from './session.js';
import { cards, code, data, el, state } from './state.js';
import { toast, toastError } from './toasts.js';

// ---- Event header --------------------------------------------------------

let themesSignature = '';

export function applyEvent(next) {
  state.event = { ...state.event, ...localizeEvent(next) };
  el.title.textContent = state.event.title || '';
  el.code.textContent = state.event.code || code;
  document.title = `${t('Moderate')} · ${state.event.title || code}`;
  if (!el.submissions.dataset.busy) {
    el.submissions.checked = state.event.submissions_open !== false;
    el.submissionsLabel.textContent = el.submissions.checked ? t('Submissions open') : t('Submissions closed');
  }
  const signature = JSON.stringify([
    (state.event.themes || []).map((theme) => [theme.key, theme.label, theme.colour, theme.hidden]),
    state.event.active_theme,
  ]);
  if (signature !== themesSignature) {
    themesSignature = signature;
    // A hidden theme takes no new questions, so it is not offered as the segment; if it is
    // the active one already, it stays shown (and cannot be chosen again once left).
    const offered = (state.event.themes || []).filter((theme) => !theme.hidden || theme.key === state.event.active_theme);
    el.activeTheme.replaceChildren(
      h('option', { value: '' }, t('None')),
      ...offered.map((theme) => h('option', { value: theme.key, disabled: Boolean(theme.hidden) },
        theme.hidden ? t('%(theme)s (hidden)', { theme: theme.label }) : theme.label)),
    );
    // Every theme, hidden ones too: their questions are still on the desk.
    const chosen = el.themeFilter.value;
    el.themeFilter.replaceChildren(
      h('option', { value: '' }, t('All themes')),
      ...(state.event.themes || []).map((theme) => h('option', { value: theme.key }, theme.label)),
    );
    el.themeFilter.value = (state.event.themes || []).some((theme) => theme.key === chosen) ? chosen : '';
    for (const card of cards.values()) card.signature = null;
  }
  if (!el.activeTheme.dataset.busy) el.activeTheme.value = state.event.active_theme || '';
}

el.participantLink.textContent = t('Participant page');
el.participantLink.title = data.participantUrl;

el.copyParticipant.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(data.participantUrl);
    toast(t('Participant link copied.'));
  } catch {
    toast(t('Participant link: %(url)s', { url: data.participantUrl }), { timeout: 10000 });
  }
});

el.submissions.addEventListener('change', async () => {
  const wanted = el.submissions.checked;
  el.submissions.dataset.busy = '1';
  el.submissionsLabel.textContent = wanted ? t('Submissions open') : t('Submissions closed');
  const ack = await request('event:update', { submissions_open: wanted });
  delete el.submissions.dataset.busy;
  if (ack.ok && ack.event) applyEvent(ack.event);
  else if (!ack.ok) {
    toastError(ack.error.message);
    applyEvent({});
  }
});

el.activeTheme.addEventListener('change', async () => {
  el.activeTheme.dataset.busy = '1';
  const ack = await request('event:update', { active_theme: el.activeTheme.value || null });
  delete el.activeTheme.dataset.busy;
  if (ack.ok && ack.event) applyEvent(ack.event);
  else if (!ack.ok) {
    toastError(ack.error.message);
    applyEvent({});
  }
});

async function exportFile(kind) {
  try {
    const res = await fetch(`/api/events/${encodeURIComponent(code)}/export.${kind}`, {
      headers: { Authorization: `Bearer ${state.token}`, 'Accept-Language': lang },
    });
    if (!res.ok) {
      let message = t('The export failed (%(status)s).', { status: String(res.status) });
      try {
        const body = await res.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch { /* not JSON */ }
      toastError(message);
      return;
    }
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const day = new Date().toISOString().slice(0, 10);
    const link = h('a', { href: url, download: `questions-${code}-${day}.${kind}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch {
    toastError(t('Could not reach the server for the export.'));
  }
}

el.exportCsv.addEventListener('click', () => exportFile('csv'));
el.exportJson.addEventListener('click', () => exportFile('json'));
