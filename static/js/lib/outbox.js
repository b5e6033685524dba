// Submissions not yet acknowledged, kept across reloads, each with its own client id so that
// a resend is never a second question.

import { storage } from './storage.js';

export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  // randomUUID needs a secure context; plain http on a LAN address is not one.
  const bytes = new Uint8Array(16);
  if (window.crypto && window.crypto.getRandomValues) {
    window.crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  constructor(key) {
    this.key = key;
  }

  items() {
    try {
      const parsed = JSON.parse(storage.get(this.key) || '[]');
      return Array.isArray(parsed) ? parsed.filter((i) => i && i.client_id) : [];
    } catch {
      return [];
    }
  }

  save(items) {
    if (items.length) storage.set(this.key, JSON.stringify(items));
    else storage.remove(this.key);
  }

  add(item) {
    const items = this.items().filter((i) => i.client_id !== item.client_id);
    items.push(item);
    this.save(items);
  }

  remove(clientId) {
    this.save(this.items().filter((i) => i.client_id !== clientId));
  }
}
