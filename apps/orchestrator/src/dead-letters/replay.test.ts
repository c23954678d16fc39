import type { Producer } from 'kafkajs';
import type { OutboxRecord, RabbitPublisher } from '@orderflow/messaging';
import type { DeadLetter, DeadLetterRepository } from './dead-letter-repository';
import { createReplay } from './replay';

const letter = (origin: string): DeadLetter => ({
  id: '00000000-0000-4000-8000-000000000001',
  source: 'rabbitmq',
  origin,
  key: Buffer.from('corr-1'),
  messageId: '00000000-0000-4000-8000-0000000000aa',
  payload: Buffer.from('{"task":1}'),
  headers: { traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01', 'x-error': 'boom' },
  error: 'boom',
  attempts: 4,
  firstFailedAt: new Date().toISOString(),
  lastFailedAt: new Date().toISOString(),
});

/** A replay over one stored letter, with the RabbitMQ records it published. */
function replayOf(stored: DeadLetter) {
  const published: OutboxRecord[] = [];
  const rabbit = { publish: async (records: OutboxRecord[]) => void published.push(...records) } as unknown as RabbitPublisher;
  const repo = {
    replayOnce: async (_tx: unknown, _id: string, publish: (d: DeadLetter) => Promise<void>) => {
      await publish(stored);
      return { found: true, replayed: true, letter: stored };
    },
  } as unknown as DeadLetterRepository;
  return { replay: createReplay({ repo, producer: {} as Producer, rabbit }), published };
}

describe('dead-letter replay of RabbitMQ tasks', () => {
  it.each(['notification.send', 'webhook.deliver'])('sends a %s letter back to the queue it came from, without failure headers', async (origin) => {
    const { replay, published } = replayOf(letter(origin));
    await replay.one({ query: jest.fn() }, letter(origin).id);
    expect(published).toEqual([
      expect.objectContaining({
        topic: origin,
        key: 'corr-1',
        messageId: '00000000-0000-4000-8000-0000000000aa',
        payload: Buffer.from('{"task":1}'),
        headers: { traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' },
      }),
    ]);
  });
});
