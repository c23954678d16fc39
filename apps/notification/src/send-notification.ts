import type { NotificationTask } from '@orderflow/domain';
import type { EmailLog } from './db/email-log';
import type { Mailer } from './mail';
import { renderEmail } from './templates';

export type SendOutcome = 'sent' | 'duplicate';

/**
 * The use case: send the e-mail a task asks for, exactly once per task id. The claim, the send and
 * the commit happen in that order, so a crash before the commit re-sends the same message (same
 * file, same Message-ID) rather than losing it.
 */
export function createSendNotification(deps: { emailLog: EmailLog; mailer: Mailer; from: string }) {
  return async function sendNotification(taskId: string, task: NotificationTask): Promise<SendOutcome> {
    const email = renderEmail(task);
    const record = { taskId, orderId: task.order.id, template: task.template, recipient: task.to, subject: email.subject };
    return deps.emailLog.sendOnce(record, () => deps.mailer.send({ messageId: taskId, to: task.to, from: deps.from, ...email }));
  };
}

export type SendNotification = ReturnType<typeof createSendNotification>;
