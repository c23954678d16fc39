import { Counter, type Registry } from 'prom-client';
import { EMAIL_TEMPLATES } from '@orderflow/domain';

/** The worker's own metrics, registered on the process registry that `/metrics` serves. */
export function createNotificationMetrics(registry: Registry) {
  const emailsSent = new Counter({
    name: 'orderflow_notification_emails_sent_total',
    help: 'E-mails sent (committed), by template',
    labelNames: ['template'],
    registers: [registry],
  });
  // Start every template at 0 so a rate() over a template that has not been sent yet is 0, not absent.
  for (const template of EMAIL_TEMPLATES) emailsSent.inc({ template }, 0);
  return {
    emailsSent,
    duplicates: new Counter({
      name: 'orderflow_notification_duplicate_tasks_total',
      help: 'Task deliveries skipped because their e-mail was already sent',
      registers: [registry],
    }),
    taskRetries: new Counter({
      name: 'orderflow_notification_task_retries_total',
      help: 'Failed task deliveries sent to a retry queue',
      registers: [registry],
    }),
    deadLetters: new Counter({ name: 'orderflow_notification_dead_letters_total', help: 'Tasks moved to the dead-letter queue', registers: [registry] }),
  };
}

export type NotificationMetrics = ReturnType<typeof createNotificationMetrics>;
