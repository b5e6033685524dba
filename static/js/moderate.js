// Moderator desk: Incoming / Queue / On air, keyboard first, undo, export. The modules in desk/ hold each concern; this one starts the page.

import { storage } from './connection.js';
import { redrawAll } from './desk/filters.js';
import { applyEvent } from './desk/header.js';
import { render } from './desk/render.js';
import { TOKEN_KEY, askForToken, saveToken, start, tokenFromHash } from './desk/session.js';
import { el, state } from './desk/state.js';

applyEvent(state.event);
el.rejected.addEventListener('toggle', () => render());
setInterval(redrawAll, 60000);

const initial = tokenFromHash() || storage.get(TOKEN_KEY, 'session') || storage.get(TOKEN_KEY, 'local');
if (initial) {
  saveToken(initial);
  start(initial);
} else {
  askForToken('');
}
