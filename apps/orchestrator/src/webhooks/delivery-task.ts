// The `webhook.deliver` task: one per fact per subscription, written to the outbox with its delivery
// row. It carries the event itself, so a delivery (or a replayed dead letter) needs nothing else.
import { z } from 'zod';
import { FACT_TYPES, WEBHOOK_DELIVER, cloudEventSchemaOf, type CloudEvent } from '@orderflow/domain';
import type { OutboxMessage } from '@orderflow/messaging';

/** The event a subscription's test sends: a CloudEvent of this type through the same delivery path. */
export const PING_TYPE = 'webhook.ping';
/** What a subscription may ask for: the facts on order-events and inventory-events. */
export const SUBSCRIBABLE_TYPES = FACT_TYPES;

/** A fact, or the ping, as the receiver gets it. */
export type WebhookEvent = Omit<CloudEvent, 'type'> & { type: (typeof FACT_TYPES)[number] | typeof PING_TYPE };

const eventSchema = z.union([
  cloudEventSchemaOf(z.unknown()),
  z.object({
    specversion: z.literal('1.0'),
    id: z.guid(),
    source: z.string().min(1),
    type: z.literal(PING_TYPE),
    time: z.iso.datetime({ offset: true }),
    subject: z.string().min(1).optional(),
    datacontenttype: z.literal('application/json'),
    data: z.unknown(),
  }),
]);

/** The `webhook.ping` event a subscription's test sends. */
export function pingEvent(subscriptionId: string, source: string): WebhookEvent {
  return {
    specversion: '1.0',
    id: globalThis.crypto.randomUUID(),
    source,
    type: PING_TYPE,
    time: new Date().toISOString(),
    subject: subscriptionId,
    datacontenttype: 'application/json',
    data: { subscriptionId, message: 'a test event sent from the admin API' },
  };
}

export const deliveryTaskSchema = z.object({ deliveryId: z.guid(), subscriptionId: z.guid(), event: eventSchema });
export type DeliveryTask = { deliveryId: string; subscriptionId: string; event: WebhookEvent };

/** The outbox row that sends `task` to the `webhook.deliver` queue; keyed (correlation id) and identified by the delivery. */
export function deliveryMessage(task: DeliveryTask): OutboxMessage {
  return {
    destination: 'rabbitmq',
    topic: WEBHOOK_DELIVER,
    key: task.deliveryId,
    messageId: task.deliveryId,
    payload: task,
    headers: task.event.traceparent ? { traceparent: task.event.traceparent } : {},
  };
}

/**
 * The body a receiver gets: the CloudEvent in structured mode, its attributes in the spec's order
 * (the task went through jsonb, which reorders keys), `data` last. Our trace context stays inside.
 */
export function eventBody(event: WebhookEvent): string {
  const { specversion, id, source, type, time, subject, datacontenttype, data } = event;
  return JSON.stringify({ specversion, id, source, type, time, ...(subject ? { subject } : {}), datacontenttype, data });
}
