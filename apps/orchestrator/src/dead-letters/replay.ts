import { isUtf8 } from 'node:buffer';
import type { Producer } from 'kafkajs';
import { AppError, NOTIFICATION_SEND } from '@orderflow/domain';
import type { RabbitPublisher } from '@orderflow/messaging';
import type { DeadLetter, DeadLetterRepository } from './dead-letter-repository';

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

/** Puts a dead letter back on its original topic or queue, once, with its original bytes. */
export function createReplay(deps: { repo: DeadLetterRepository; producer: Producer; rabbit: RabbitPublisher }) {
  async function publish(letter: DeadLetter): Promise<void> {
    const headers = withoutFailureHeaders(letter.headers);
    if (letter.source === 'kafka') {
      await deps.producer.send({ topic: letter.origin, acks: -1, messages: [{ key: letter.key ?? null, value: letter.payload, headers }] });
      return;
    }
    if (letter.source === 'rabbitmq') {
      if (!isJson(letter.payload)) throw new AppError('CONFLICT', 'this dead letter is not JSON; replaying it would fail the same way');
      // The payload goes out as the bytes it came in (the publisher sends a Buffer as it is); amqplib
      // sends a Buffer header value as a byte array, as it was received.
      const taskHeaders = headers as Record<string, string>;
      await deps.rabbit.publish([
        {
          id: 0,
          destination: 'rabbitmq',
          topic: NOTIFICATION_SEND,
          key: letter.key?.toString() ?? '',
          messageId: letter.messageId ?? letter.id,
          payload: letter.payload,
          headers: taskHeaders,
        },
      ]);
      return;
    }
    throw new AppError('CONFLICT', 'a saga dead letter records an order that was already compensated; there is nothing to replay');
  }

  return async (id: string) => {
    const result = await deps.repo.replayOnce(id, publish);
    if (!result.found) throw new AppError('NOT_FOUND', `no dead letter ${id}`);
    return { id, replayed: result.replayed, alreadyReplayed: !result.replayed };
  };
}
