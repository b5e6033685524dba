// Moderator desk: Incoming / Queue / On air, keyboard first, undo, export.
// The modules in desk/ hold one concern each; this one starts the page.

import './desk/dragdrop.js'; // the queue's drop target
import './desk/keyboard.js'; // the desk's keys and the shortcuts help
import { storage } from './lib/storage.js';
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
