// Join page: one code field; a wrong code is reported on the page, no reload.

import { lang, t } from './i18n.js';

const form = document.getElementById('join-form');
const input = document.getElementById('join-code');
const error = document.getElementById('join-error');
const button = document.getElementById('join-button');

/** Codes are case-insensitive; spaces and hyphens do not count. */
function normalise(value) {
  return value.replace(/[\s-]+/g, '').toUpperCase();
}

function showError(message) {
  error.textContent = message;
  error.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

function clearError() {
  error.hidden = true;
  error.textContent = '';
  input.removeAttribute('aria-invalid');
}

const fromUrl = new URLSearchParams(window.location.search).get('code');
if (fromUrl) input.value = normalise(fromUrl);
input.focus();

input.addEventListener('input', clearError);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError();
  const code = normalise(input.value);
  if (!code) {
    showError(t('Enter the event code shown in the room.'));
    return;
  }
  button.disabled = true;
  button.textContent = t('Checking…');
  try {
    const res = await fetch(`/api/events/${encodeURIComponent(code)}`, {
      headers: { Accept: 'application/json', 'Accept-Language': lang },
    });
    if (res.ok) {
      const found = await res.json().catch(() => ({}));
      window.location.assign(`/e/${encodeURIComponent(found.code || code)}`);
      return;
    }
    if (res.status === 404) {
      showError(t('There is no event with the code “%(code)s”. Check the code and try again.', { code }));
    } else {
      let message = t('Something went wrong. Try again in a moment.');
      try {
        const body = await res.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch { /* not JSON: keep the plain message */ }
      showError(message);
    }
  } catch {
    showError(t('Could not reach the server. Check your connection and try again.'));
  } finally {
    button.disabled = false;
    button.textContent = t('Join');
  }
});
