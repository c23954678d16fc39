import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { LogFields } from '@orderflow/platform';
import { notificationTaskSchema, type NotificationTask, taskTopology } from '@orderflow/domain';
import { ATTEMPT_HEADER, createTaskWorker, permanentTaskError, type TaskWorker } from '@orderflow/messaging';
import { EmailLogUnavailableError } from './db/email-log';
import type { NotificationMetrics } from './metrics';
import type { SendNotifications, SendResult, TaskToSend } from './send-notification';

export interface NotificationWorkerOptions {
  amqpUrl: string;
  prefix: string;
  prefetch: number;
  logger: Logger;
  sendNotifications: SendNotifications;
  metrics: NotificationMetrics;
}

/** Validates a delivery; anything that can never become a valid task is a permanent failure (DLQ). */
export function parseTask(message: Pick<ConsumeMessage, 'content' | 'properties'>): { taskId: string; task: NotificationTask } {
  const taskId: unknown = message.properties.messageId;
  // A NUL cannot be stored in Postgres text: such an id would fail the claim of its whole batch.
  if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 255 || taskId.includes('\0'))
    throw permanentTaskError('task has no usable message_id');
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

/**
 * The `notification.send` consumer, a batch at a time (one e-mail log transaction per batch): parse
 * and validate each task, send the valid ones, log and count each outcome. A task that does not
 * parse is dead-lettered alone; one whose send fails is retried alone.
 */
export function createNotificationWorker(options: NotificationWorkerOptions): TaskWorker {
  const { logger, metrics, sendNotifications } = options;
  return createTaskWorker({
    url: options.amqpUrl,
    topology: taskTopology(options.prefix),
    prefetch: options.prefetch,
    logger,
    name: 'orderflow-notification',
    isOutage: (error) => error instanceof EmailLogUnavailableError,
    // The task's trace (its `traceparent` header) gives `traceId`/`spanId`; its correlation id is the order.
    logFields: (message): LogFields => (message.properties.correlationId ? { orderId: String(message.properties.correlationId) } : {}),
    async handleBatch(messages, { withinTask }) {
      const errors: unknown[] = messages.map(() => undefined);
      const tasks: Array<TaskToSend & { message: ConsumeMessage; index: number }> = [];
      messages.forEach((message, index) => {
        try {
          tasks.push({ ...parseTask(message), message, index });
        } catch (error) {
          errors[index] = error;
        }
      });
      if (tasks.length === 0) return errors;
      let results: SendResult[];
      try {
        results = await sendNotifications(tasks);
      } catch (error) {
        // The e-mail log failed: every task that got that far shares the error (an outage puts them back).
        for (const { index } of tasks) errors[index] = error;
        return errors;
      }
      results.forEach((outcome, i) => {
        const { message, index, taskId, task } = tasks[i]!;
        if (typeof outcome === 'object') {
          errors[index] = outcome.error ?? new Error('sending the e-mail failed'); // never an ack for a failed send
          return;
        }
        if (outcome === 'sent') metrics.emailsSent.inc({ template: task.template });
        else metrics.duplicates.inc();
        if (!logger.isLevelEnabled('info')) return; // the line below, in the task's context, costs per e-mail
        const headers = message.properties.headers ?? {};
        withinTask(message, () =>
          logger.info(
            {
              taskId,
              orderId: task.order.id,
              traceId: traceIdOf(headers.traceparent),
              template: task.template,
              attempt: headers[ATTEMPT_HEADER] ?? 1,
              outcome,
            },
            outcome === 'sent' ? 'e-mail sent' : 'duplicate task skipped: e-mail already sent',
          ),
        );
      });
      return errors;
    },
    onRetry: () => metrics.taskRetries.inc(),
    onDeadLetter: () => metrics.deadLetters.inc(),
  });
}
