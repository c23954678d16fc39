import { purgeByAge } from '@orderflow/db';

/**
 * Deletes up to `limit` dead letters replayed more than `olderThanMs` ago, oldest first. One nobody
 * has dealt with (replayed_at NULL) is never purged, however old; a replay in progress holds its row
 * locked and is skipped.
 */
export const purgeReplayedDeadLetters = purgeByAge('dead_letters', 'id', 'replayed_at');
