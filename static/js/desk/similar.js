// Similar questions: hints both ways and the merge buttons they offer.

import { h } from '../lib/dom.js';
import { statusWords } from '../lib/status.js';
import { t } from '../i18n.js';
import { mergeInto } from './actions.js';
import { busy, questions, state } from './state.js';

/** The server sends hints with a pending question only (on arrival, and in the snapshot): the
 * other question of each pair learns of it here, at once, not at the next reload. */
export function reverseSimilar() {
  const index = new Map();
  for (const q of questions.values()) {
    if (q.status !== 'pending' || !Array.isArray(q.similar)) continue;
    for (const s of q.similar) {
      if (!s || s.id === q.id) continue;
      if (!index.has(s.id)) index.set(s.id, []);
      index.get(s.id).push({ id: q.id, score: Number(s.score) || 0 });
    }
  }
  return index;
}

/** Questions similar to this one, both ways, still worth merging, each with the way a merge goes:
 * a pending question merges "into" the other; a published one takes a pending one in ("here"). */
export function similarTo(q) {
  if (q.merged_into || q.status === 'rejected') return [];
  const found = new Map();
  const add = (id, score, way) => {
    const o = questions.get(id);
    if (!o || o.id === q.id || o.merged_into || o.status === 'rejected') return;
    if (way === 'here' && o.status !== 'pending') return;
    const known = found.get(id);
    if (!known || known.score < score) found.set(id, { q: o, score, way });
  };
  const pointing = state.similarIndex.get(q.id) || [];
  if (q.status === 'pending') {
    for (const s of Array.isArray(q.similar) ? q.similar : []) if (s) add(s.id, Number(s.score) || 0, 'into');
    for (const r of pointing) add(r.id, r.score, 'into');
  } else {
    for (const r of pointing) add(r.id, r.score, 'here');
  }
  return Array.from(found.values()).sort((a, b) => b.score - a.score).slice(0, 3);
}

/** A question named by the start of its text, for notes about another question. */
export function describe(id) {
  const other = questions.get(id);
  if (!other) return t('another question');
  const text = other.text.length > 60 ? `${other.text.slice(0, 57)}…` : other.text;
  return `“${text}”`;
}

export function similarList(q, others) {
  return h('div', { class: 'similar' },
    h('p', { class: 'similar-title' }, t('Similar (%(count)d)', { count: others.length })),
    h('ul', { class: 'similar-list' }, ...others.map(({ q: o, way }) => {
      const here = way === 'here';
      const merge = h('button', {
        type: 'button',
        class: 'button button-small',
        'aria-label': here
          ? t('Merge question %(id)s into this one: %(text)s', { id: String(o.id), text: o.text.slice(0, 80) })
          : t('Merge into question %(id)s: %(text)s', { id: String(o.id), text: o.text.slice(0, 80) }),
      }, here ? t('Merge here') : t('Merge'));
      merge.disabled = busy.has(q.id) || busy.has(o.id);
      merge.addEventListener('click', () => (here ? mergeInto(o.id, q.id) : mergeInto(q.id, o.id)));
      return h('li', { class: 'similar-item' },
        h('span', { class: `status status-${o.status}` }, statusWords(o.status, 'desk')),
        h('span', { class: 'similar-text', lang: o.language || null }, o.text),
        merge);
    })));
}
