/** One e-mail; `messageId` is the task id, so every repeat of a task produces the same message. */
export interface Mail {
  messageId: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Resolves once the e-mail is handed over (SMTP accepted it, or its file is on disk). */
  send(mail: Mail): Promise<void>;
  close(): void;
}

/**
 * The Message-ID header for a task: `<task-id@sender-domain>`. Stable across retries, so receivers
 * that de-duplicate by Message-ID drop a repeat sent after a crash between sending and committing.
 */
export function messageIdHeader(taskId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'orderflow.local';
  return `<${taskId.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '_')}@${domain}>`;
}

/** The nodemailer message for a mail. */
export function toMessage(mail: Mail) {
  const { messageId, ...rest } = mail;
  return { ...rest, messageId: messageIdHeader(messageId, mail.from) };
}
