// Storage that still works when the browser refuses localStorage (private modes, full disks):
// a page then keeps its values in memory for as long as it is open.

const memory = new Map();

function backing(kind) {
  try {
    const store = kind === 'session' ? window.sessionStorage : window.localStorage;
    store.setItem('qa:probe', '1');
    store.removeItem('qa:probe');
    return store;
  } catch {
    return null;
  }
}

export const storage = {
  get(key, kind = 'local') {
    const store = backing(kind);
    if (store) return store.getItem(key);
    return memory.has(`${kind}:${key}`) ? memory.get(`${kind}:${key}`) : null;
  },
  set(key, value, kind = 'local') {
    const store = backing(kind);
    if (store) {
      try { store.setItem(key, value); return; } catch { /* full: fall through */ }
    }
    memory.set(`${kind}:${key}`, value);
  },
  remove(key, kind = 'local') {
    const store = backing(kind);
    if (store) store.removeItem(key);
    memory.delete(`${kind}:${key}`);
  },
};
