// A question's status: which ones everyone sees, and the words for each, as each reader knows
// them (the desk names its columns; a participant reads where their own question stands).

import { t } from '../i18n.js';

export const PUBLIC = new Set(['approved', 'answered']);

// Plain strings: i18n.js awaits the page's messages before any module that imports it runs.
const WORDS = {
  pending: { desk: t('Incoming'), participant: t('Awaiting moderation') },
  approved: { desk: t('In queue'), participant: t('Published') },
  answered: { desk: t('Answered'), participant: t('Answered') },
  rejected: { desk: t('Not published'), participant: t('Not published') },
};

/** The status in words for `reader` ('desk' or 'participant'); an unknown one as it is. */
export function statusWords(status, reader) {
  return WORDS[status] ? WORDS[status][reader] : status;
}
