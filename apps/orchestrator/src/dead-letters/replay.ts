import { isUtf8 } from 'node:buffer';
import type { Producer } from 'kafkajs';
import { AppError } from '@orderflow/domain';
import type { RabbitPublisher } from '@orderflow/messaging';
import type { Queryable } from '@orderflow/db';
import { REPLAYABLE_SOURCES, type DeadLetter, type DeadLetterFilter, type DeadLetterRepository } from './dead-letter-repository';

// Failure bookkeeping stays behind: a replayed message starts over as attempt 1.
const withoutFailureHeaders = (headers: DeadLetter['headers']) => Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('x-')));

function isJson(bytes: Buffer): boolean {
  if (!isUtf8(bytes)) return false;
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Why a dead letter cannot be replayed, if it cannot: a saga's records an order already compensated; a task that is not JSON would fail the same way. */
export function whyNotReplayable(letter: DeadLetter): string | undefined {
  if (!REPLAYABLE_SOURCES.includes(letter.source)) return 'a saga dead letter records an order that was already compensated; there is nothing to replay';
  if (letter.source === 'rabbitmq' && !isJson(letter.payload)) return 'this dead letter is not JSON; replaying it would fail the same way';
  return undefined;
}

/** Letters a bulk replay takes at most; its answer says when more remain, and the operator repeats it (with a new key). */
export const MAX_BULK_REPLAY = 1_000;

/**
 * Puts dead letters back on their original topic or queue, once each, with their original bytes.
 * `bulkLimit` (MAX_BULK_REPLAY unless given) caps one bulk replay.
 */
export function createReplay(deps: { repo: DeadLetterRepository; producer: Producer; rabbit: RabbitPublisher; bulkLimit?: number }) {
  const bulkLimit = deps.bulkLimit ?? MAX_BULK_REPLAY;
  /** Publishes the letters (all replayable) and resolves once the brokers have every one. */
  async function publish(letters: DeadLetter[]): Promise<void> {
    const kafka = letters.filter((l) => l.source === 'kafka');
    const tasks = letters.filter((l) => l.source === 'rabbitmq');
    await Promise.all([
      kafka.length &&
        deps.producer.sendBatch({
          acks: -1,
          topicMessages: kafka.map((l) => ({
            topic: l.origin,
            messages: [{ key: l.key ?? null, value: l.payload, headers: withoutFailureHeaders(l.headers) }],
          })),
        }),
      // The payload goes out as the bytes it came in (the publisher sends a Buffer as it is); amqplib
      // sends a Buffer header value as a byte array, as it was received.
      tasks.length &&
        deps.rabbit.publish(
          tasks.map((l) => ({
            id: 0,
            destination: 'rabbitmq' as const,
            topic: l.origin, // the task queue it was dead-lettered from (its routing key)
            key: l.key?.toString() ?? '',
            messageId: l.messageId ?? l.id,
            payload: l.payload,
            headers: withoutFailureHeaders(l.headers) as Record<string, string>,
          })),
        ),
    ]);
  }

  return {
    /** Replays one letter in `tx` (the caller commits): NOT_FOUND when there is none, CONFLICT when it cannot be replayed. */
    async one(tx: Queryable, id: string) {
      const result = await deps.repo.replayOnce(tx, id, async (letter) => {
        const why = whyNotReplayable(letter);
        if (why) throw new AppError('CONFLICT', why);
        await publish([letter]);
      });
      if (!result.found) throw new AppError('NOT_FOUND', `no dead letter ${id}`);
      if (!result.replayed && result.letter?.discardedAt) throw new AppError('CONFLICT', `dead letter ${id} was discarded; it is not replayed`);
      return { id, replayed: result.replayed, alreadyReplayed: !result.replayed };
    },

    /**
     * Replays the pending letters matching `filter` (at most `bulkLimit`) in `tx`; those that cannot be
     * replayed are passed over and counted as skipped; `more` says the limit left some to replay.
     */
    async matching(tx: Queryable, filter: Omit<DeadLetterFilter, 'status'>) {
      const { replayed, skipped, more } = await deps.repo.replayMatching(tx, filter, bulkLimit, (l) => !whyNotReplayable(l), publish);
      return { matched: replayed.length + skipped, replayed: replayed.length, skipped, more };
    },
  };
}

export type Replay = ReturnType<typeof createReplay>;
