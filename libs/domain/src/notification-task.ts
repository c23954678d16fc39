import { z } from 'zod';

/** The three e-mails the notification worker can send. */
export const EMAIL_TEMPLATES = ['order-confirmed', 'order-rejected', 'order-cancelled'] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

/**
 * Body of a `notification.send` task: everything the e-mail needs, so the worker never calls back.
 * The RabbitMQ message_id is the task id (de-duplication key); correlation_id is the order id.
 */
export const notificationTaskSchema = z.object({
  template: z.enum(EMAIL_TEMPLATES),
  to: z.email(),
  order: z.object({
    id: z.guid(),
    customerId: z.string().min(1),
    status: z.enum(['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED']),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive(), unitPriceCents: z.number().int().nonnegative() })).min(1),
    totalCents: z.number().int().nonnegative(),
    reason: z.string().optional(),
  }),
});
export type NotificationTask = z.infer<typeof notificationTaskSchema>;
