import { randomUUID } from 'node:crypto';
import type { NotificationTask } from '@orderflow/domain';

/** A valid `notification.send` task body; tests override what they are about. */
export function buildTask(overrides: Partial<Omit<NotificationTask, 'order'>> & { order?: Partial<NotificationTask['order']> } = {}): NotificationTask {
  const { order, ...rest } = overrides;
  return {
    template: 'order-confirmed',
    to: 'alice@example.com',
    ...rest,
    order: {
      id: randomUUID(),
      customerId: 'alice',
      status: 'CONFIRMED',
      items: [
        { sku: 'BEAN-ETHIOPIA-250', quantity: 2, unitPriceCents: 1250 },
        { sku: 'MUG-WHITE', quantity: 1, unitPriceCents: 905 },
      ],
      totalCents: 3405,
      ...order,
    },
  };
}
