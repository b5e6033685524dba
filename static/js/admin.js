// The organiser console: copy buttons, local times, the theme editor, confirmations, print.
// Everything here enhances server-rendered forms that also work without it.
// Its words come from the gettext catalogues through i18n.js (t()), its dates from Intl in the page's language.
import { lang, t } from './i18n.js';
import { announce as announceIn } from './lib/dom.js';

(() => {
  const announcer = document.getElementById('announcer');
  const announce = (text) => announceIn(announcer, text);

  // ---- Colours: set from data-colour through the CSSOM (the CSP allows no style attributes).
  const paint = (root) => {
    for (const el of root.querySelectorAll('[data-colour]')) {
      el.style.setProperty('--swatch', el.dataset.colour);
    }
  };
  paint(document);

  // ---- Copy buttons ---------------------------------------------------------------
  const copyText = async (input) => {
    const text = input.value;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) { /* fall through to the selection */ }
    }
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch (_) {
      return false;
    }
  };

  for (const button of document.querySelectorAll('[data-copy]')) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) continue;
    button.hidden = false;
    const label = button.textContent;
    let timer = null;
    button.addEventListener('click', async () => {
      const ok = await copyText(input);
      button.textContent = ok ? t('Copied') : t('Press Ctrl+C');
      button.classList.toggle('is-done', ok);
      if (!ok) { input.focus(); input.select(); }
      announce(ok ? t('Link copied.') : t('Select the link and copy it.'));
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        button.textContent = label;
        button.classList.remove('is-done');
      }, 2000);
    });
  }
  for (const input of document.querySelectorAll('.link-input')) {
    input.addEventListener('focus', () => input.select());
  }

  // ---- Times in the viewer's time zone, written as the page's language writes them ---------------------------------------------------
  const fullDate = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'long' });
  const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
  for (const el of document.querySelectorAll('time[data-local]')) {
    const when = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(when.getTime())) {
      el.textContent = dateFormat.format(when);
      el.title = fullDate.format(when);
    }
  }

  // The event form's date and time: shown and typed in local time, sent with its offset.
  const startsAt = document.getElementById('starts_at');
  const tzOffset = document.getElementById('tz_offset');
  if (startsAt && tzOffset) {
    const pad = (n) => String(n).padStart(2, '0');
    const utc = startsAt.dataset.utc;
    if (utc) {
      const when = new Date(utc);
      if (!Number.isNaN(when.getTime())) {
        startsAt.value = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`
          + `T${pad(when.getHours())}:${pad(when.getMinutes())}`;
      }
    }
    const hint = document.querySelector('[data-tz-hint]');
    if (hint) {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      hint.textContent = zone ? t('Your local time (%(zone)s).', { zone }) : t('Your local time.');
    }
    startsAt.form.addEventListener('submit', () => {
      // The offset of that date, not today's: summer time may differ.
      const when = startsAt.value ? new Date(startsAt.value) : new Date();
      tzOffset.value = Number.isNaN(when.getTime()) ? '' : String(when.getTimezoneOffset());
    });
  }

  // ---- Theme editor ----------------------------------------------------------------------
  const rows = document.getElementById('theme-rows');
  const template = document.getElementById('theme-template');
  const addButton = document.getElementById('add-theme');
  if (rows && template && addButton) {
    const palette = (rows.dataset.palette || '').split(' ').filter(Boolean);
    const themeRows = () => Array.from(rows.querySelectorAll(':scope > [data-theme-row]'));

    const renumber = () => {
      const all = themeRows();
      all.forEach((row, i) => {
        for (const el of row.querySelectorAll('[data-field]')) {
          const name = `themes-${i}-${el.dataset.field}`;
          el.name = name;
          el.id = name;
        }
        for (const label of row.querySelectorAll('label[data-for]')) {
          label.htmlFor = `themes-${i}-${label.dataset.for}`;
        }
        const up = row.querySelector('[data-move="up"]');
        const down = row.querySelector('[data-move="down"]');
        if (up) up.disabled = i === 0;
        if (down) down.disabled = i === all.length - 1;
        const remove = row.querySelector('[data-remove]');
        if (remove && !remove.title) remove.disabled = all.length === 1;
      });
    };

    const colourRow = (row) => {
      const colour = row.querySelector('[data-field="colour"]');
      if (colour) row.style.setProperty('--swatch', colour.value);
    };

    const enhance = (row) => {
      const tools = row.querySelector('[data-tools]');
      if (tools) tools.hidden = false;
      colourRow(row);
      const colour = row.querySelector('[data-field="colour"]');
      if (colour) colour.addEventListener('input', () => colourRow(row));
    };

    rows.addEventListener('click', (ev) => {
      const button = ev.target.closest('button');
      if (!button || !rows.contains(button)) return;
      const row = button.closest('[data-theme-row]');
      const label = (row.querySelector('[data-field="label"]').value || t('theme')).trim();
      if (button.dataset.move === 'up' && row.previousElementSibling) {
        rows.insertBefore(row, row.previousElementSibling);
        announce(t('Moved “%(label)s” up.', { label }));
      } else if (button.dataset.move === 'down' && row.nextElementSibling) {
        rows.insertBefore(row.nextElementSibling, row);
        announce(t('Moved “%(label)s” down.', { label }));
      } else if (button.hasAttribute('data-remove')) {
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        announce(t('Removed “%(label)s”.', { label }));
        renumber();
        const focus = next && next.querySelector('[data-field="label"]');
        if (focus) focus.focus();
        return;
      } else {
        return;
      }
      renumber();
      button.focus();
    });

    addButton.hidden = false;
    addButton.addEventListener('click', () => {
      const fragment = template.content.cloneNode(true);
      const row = fragment.querySelector('[data-theme-row]');
      const colour = row.querySelector('[data-field="colour"]');
      if (colour && palette.length) colour.value = palette[themeRows().length % palette.length];
      rows.appendChild(fragment);
      enhance(row);
      renumber();
      row.querySelector('[data-field="label"]').focus();
    });

    themeRows().forEach(enhance);
    renumber();
  }

  // ---- Confirmations -------------------------------------------------------------------
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }

  // Delete: the button wakes up once the box is ticked and the code typed (the server checks both).
  const deleteForm = document.querySelector('[data-delete-form]');
  if (deleteForm) {
    const code = deleteForm.dataset.code;
    const box = deleteForm.querySelector('[name="understood"]');
    const typed = deleteForm.querySelector('[name="confirm"]');
    const submit = deleteForm.querySelector('button[type="submit"]');
    const norm = (s) => s.replace(/[\s-]+/g, '').toUpperCase();
    const update = () => { submit.disabled = !(box.checked && norm(typed.value) === code); };
    box.addEventListener('change', update);
    typed.addEventListener('input', update);
    update();
  }

  // ---- Errors: bring the summary into view ---------------------------------------------
  const summary = document.getElementById('error-summary');
  if (summary) summary.focus();

  // ---- Print ----------------------------------------------------------------------------
  for (const button of document.querySelectorAll('[data-print]')) {
    button.hidden = false;
    button.addEventListener('click', () => window.print());
  }
})();
