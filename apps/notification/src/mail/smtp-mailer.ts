import nodemailer from 'nodemailer';
import { toMessage, type Mail, type Mailer } from './mailer';

// Defaults an operator can override in SMTP_URL's query (nodemailer reads options from it): a small
// connection pool, and `timeoutMs` (SMTP_TIMEOUT_MS) for connecting, the greeting and any one reply
// instead of nodemailer's minutes, so a stuck server cannot hold a task (and its database transaction).
const defaults = (timeoutMs: number): Record<string, string> => ({
  pool: 'true',
  maxConnections: '5',
  connectionTimeout: String(timeoutMs),
  greetingTimeout: String(timeoutMs),
  socketTimeout: String(timeoutMs),
});

/** Sends through an SMTP server (pooled). A 5xx answer is permanent (dead-letter), anything else may be retried. */
export function createSmtpMailer(smtpUrl: string, timeoutMs = 15_000): Mailer {
  const url = new URL(smtpUrl);
  for (const [name, value] of Object.entries(defaults(timeoutMs))) if (!url.searchParams.has(name)) url.searchParams.set(name, value);
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
