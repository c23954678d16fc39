import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { LogFields } from '@orderflow/platform';
import { notificationTaskSchema, type NotificationTask } from '@orderflow/domain';
import { ATTEMPT_HEADER, createTaskWorker, permanentTaskError, type TaskWorker } from '@orderflow/messaging';
import { EmailLogUnavailableError } from './db/email-log';
import type { NotificationMetrics } from './metrics';
import type { SendNotification } from './send-notification';

export interface NotificationWorkerOptions {
  amqpUrl: string;
  prefix: string;
  prefetch: number;
  logger: Logger;
  sendNotification: SendNotification;
  metrics: NotificationMetrics;
}

/** Validates a delivery; anything that can never become a valid task is a permanent failure (DLQ). */
export function parseTask(message: Pick<ConsumeMessage, 'content' | 'properties'>): { taskId: string; task: NotificationTask } {
  const taskId: unknown = message.properties.messageId;
  if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 255) throw permanentTaskError('task has no usable message_id');
  let json: unknown;
  try {
    json = JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    throw permanentTaskError(`task body is not JSON: ${(error as Error).message}`);
  }
  const parsed = notificationTaskSchema.safeParse(json);
  if (!parsed.success) throw permanentTaskError(`invalid task: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return { taskId, task: parsed.data };
}

/** `traceparent` (W3C) → trace id; the same id the active span gives, kept for runs without the SDK. */
const traceIdOf = (traceparent: unknown) => (typeof traceparent === 'string' ? traceparent.split('-')[1] : undefined);

/** The `notification.send` consumer: parse and validate, call the use case, log and count the outcome. */
export function createNotificationWorker(options: NotificationWorkerOptions): TaskWorker {
  const { logger, metrics, sendNotification } = options;
  return createTaskWorker({
    url: options.amqpUrl,
    prefix: options.prefix,
    prefetch: options.prefetch,
    logger,
    name: 'orderflow-notification',
    isOutage: (error) => error instanceof EmailLogUnavailableError,
    // The task's trace (its `traceparent` header) gives `traceId`/`spanId`; its correlation id is the order.
    logFields: (message): LogFields => (message.properties.correlationId ? { orderId: String(message.properties.correlationId) } : {}),
    async handle(_body, message) {
      const { taskId, task } = parseTask(message);
      const headers = message.properties.headers ?? {};
      const outcome = await sendNotification(taskId, task);
      if (outcome === 'sent') metrics.emailsSent.inc({ template: task.template });
      else metrics.duplicates.inc();
      logger.info(
        { taskId, orderId: task.order.id, traceId: traceIdOf(headers.traceparent), template: task.template, attempt: headers[ATTEMPT_HEADER] ?? 1, outcome },
        outcome === 'sent' ? 'e-mail sent' : 'duplicate task skipped: e-mail already sent',
      );
    },
    onRetry: () => metrics.taskRetries.inc(),
    onDeadLetter: () => metrics.deadLetters.inc(),
  });
}
