import { purgeByAge } from '@orderflow/db';

/**
 * Deletes up to `limit` dead letters replayed more than `olderThanMs` ago, oldest first. One nobody
 * has dealt with (neither replayed nor discarded) is never purged, however old; a replay in progress holds its row
 * locked and is skipped.
 */
export const purgeReplayedDeadLetters = purgeByAge('dead_letters', 'id', 'replayed_at');

/** Deletes up to `limit` dead letters an operator discarded more than `olderThanMs` ago, oldest first. */
export const purgeDiscardedDeadLetters = purgeByAge('dead_letters', 'id', 'discarded_at');
