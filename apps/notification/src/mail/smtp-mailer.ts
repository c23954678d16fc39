import nodemailer from 'nodemailer';
import { toMessage, type Mail, type Mailer } from './mailer';

// Defaults an operator can override in SMTP_URL's query (nodemailer reads options from it): a small
// connection pool, and timeouts well below the shutdown timeout so a stuck server cannot hold a task.
const DEFAULTS: Record<string, string> = { pool: 'true', maxConnections: '5', connectionTimeout: '10000', greetingTimeout: '10000', socketTimeout: '30000' };

/** Sends through an SMTP server (pooled). A 5xx answer is permanent (dead-letter), anything else may be retried. */
export function createSmtpMailer(smtpUrl: string): Mailer {
  const url = new URL(smtpUrl);
  for (const [name, value] of Object.entries(DEFAULTS)) if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  const transport = nodemailer.createTransport(url.toString());
  return {
    async send(mail: Mail) {
      try {
        await transport.sendMail(toMessage(mail));
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        if (error instanceof Error && code !== undefined && code >= 500 && code < 600) Object.assign(error, { nonRetryable: true });
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
