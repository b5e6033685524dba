// The outcome report: send the moderator token from the moderator link (#token=…) or the desk's
// stored one through the page's form (never in the address), with this browser's time zone; print.
(() => {
  const form = document.getElementById('report-form');
  const code = document.body.dataset.code;
  const key = `qa:modtoken:${code}`;
  const read = (store) => { try { return window[store].getItem(key); } catch { return null; } };
  const keep = (value) => {
    for (const store of ['sessionStorage', 'localStorage']) {
      try { window[store].setItem(key, value); } catch { /* private mode: the form still works */ }
    }
  };
  const zone = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch { return ''; } })();

  if (form) {
    const tz = document.getElementById('report-tz');
    if (tz) tz.value = zone;
    const input = document.getElementById('report-token');
    const match = window.location.hash.match(/[#&]token=([^&]+)/);
    let token = null;
    if (match) {
      try { token = decodeURIComponent(match[1]); } catch { token = match[1]; }
      // Out of the address bar and history, so it is not shared by accident.
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    }
    const wrong = input.getAttribute('aria-invalid') === 'true';
    token = token || (wrong ? null : read('sessionStorage') || read('localStorage'));
    form.addEventListener('submit', () => {
      const value = input.value.trim();
      const given = value.match(/[#&?]token=([^&\s]+)/);
      if (value) keep(given ? given[1] : value);
    });
    if (token) {
      input.value = token;
      form.requestSubmit();
    } else if (wrong) {
      input.focus();
    }
  }

  const print = document.getElementById('print-report');
  if (print) {
    print.hidden = false;
    print.addEventListener('click', () => window.print());
  }
})();
