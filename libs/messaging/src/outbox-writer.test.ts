import { createOutboxWriter, notifyingOutboxWriter, type OutboxRelay } from './outbox-relay';

const relay = (active: boolean) => ({ active, wake: jest.fn(), start: jest.fn(), stop: jest.fn() }) satisfies OutboxRelay;

describe('outbox writer', () => {
  it('skips NOTIFY while its own relays are the ones publishing, and wakes them in-process after a commit', () => {
    const relays = [relay(true), relay(true)];
    const writer = createOutboxWriter(relays);

    expect(writer.notifySelect()).toBe('');
    writer.committed();
    for (const r of relays) expect(r.wake).toHaveBeenCalledTimes(1);
  });

  it('NOTIFYs when another process publishes for any destination, or when it has no relays of its own', () => {
    expect(createOutboxWriter([relay(true), relay(false)]).notifySelect()).toMatch(/pg_notify\('outbox'/);
    expect(notifyingOutboxWriter.notifySelect()).toMatch(/pg_notify\('outbox'/);
  });
});
