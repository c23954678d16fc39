import type { NotificationConfig } from '../config';
import { createFileMailer } from './file-mailer';
import type { Mailer } from './mailer';
import { createSmtpMailer } from './smtp-mailer';

export { createFileMailer, emlStem } from './file-mailer';
export { createSmtpMailer } from './smtp-mailer';
export { messageIdHeader, type Mail, type Mailer } from './mailer';

/** SMTP when `SMTP_URL` is set, otherwise one `.eml` file per e-mail in `MAIL_DIR`. */
export function createMailer(config: Pick<NotificationConfig, 'SMTP_URL' | 'MAIL_DIR'> & Partial<Pick<NotificationConfig, 'SMTP_TIMEOUT_MS'>>): Mailer {
  return config.SMTP_URL ? createSmtpMailer(config.SMTP_URL, config.SMTP_TIMEOUT_MS) : createFileMailer(config.MAIL_DIR);
}
