import type { NotificationTask } from '@orderflow/domain';
import type { EmailLog, EmailRecord, SendResult } from './db/email-log';
import type { Mail, Mailer } from './mail';
import { renderEmail } from './templates';

export type { SendResult } from './db/email-log';

export interface TaskToSend {
  taskId: string;
  task: NotificationTask;
}

/**
 * The use case: send the e-mails a batch of tasks asks for, exactly once per task id, with one
 * e-mail log transaction for the batch. Claims, sends and the commit happen in that order, so a
 * crash before the commit re-sends the same messages (same file, same Message-ID) rather than
 * losing them. Answers per task, in order; a database failure rejects the whole batch.
 */
export function createSendNotifications(deps: { emailLog: EmailLog; mailer: Mailer; from: string }) {
  return async function sendNotifications(tasks: readonly TaskToSend[]): Promise<SendResult[]> {
    const results: SendResult[] = new Array(tasks.length);
    const toSend: Array<EmailRecord & { mail: Mail; index: number }> = [];
    tasks.forEach(({ taskId, task }, index) => {
      try {
        const email = renderEmail(task);
        const mail = { messageId: taskId, to: task.to, from: deps.from, ...email };
        toSend.push({ taskId, orderId: task.order.id, template: task.template, recipient: task.to, subject: email.subject, mail, index });
      } catch (error) {
        results[index] = { error }; // only this task fails (and is retried); the others go out
      }
    });
    const sent = await deps.emailLog.sendBatch(toSend, (record) => deps.mailer.send(record.mail));
    sent.forEach((result, i) => (results[toSend[i]!.index] = result));
    return results;
  };
}

export type SendNotifications = ReturnType<typeof createSendNotifications>;
