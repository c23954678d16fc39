import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { toMessage, type Mail, type Mailer } from './mailer';

/** File name stem for a task id: the id itself when it is a safe name, else its SHA-256. */
export function emlStem(taskId: string): string {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(taskId) ? taskId : createHash('sha256').update(taskId).digest('hex');
}

/**
 * Writes each e-mail as an RFC 5322 message (CRLF line ends) to `<dir>/<task id>.eml`. The file is
 * written to a temporary name, flushed and renamed over the target, so a reader never sees half a
 * message and a repeated task replaces its file instead of adding a second one.
 */
export function createFileMailer(dir: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  // The directory is made once, not per e-mail; should it vanish later, the first write that misses it makes it again.
  let made: Promise<unknown> | undefined;
  const ensureDir = (again = false) => {
    if (again) made = undefined;
    return (made ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
  };
  const openTemp = async (tmp: string) => {
    await ensureDir();
    try {
      return await open(tmp, 'w');
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      await ensureDir(true);
      return open(tmp, 'w');
    }
  };
  return {
    async send(mail: Mail) {
      // RFC 5322 lines end in CRLF. nodemailer applies `newline` per message (its types list it only on the transport).
      const options = { ...toMessage(mail), newline: 'windows' };
      const { message } = await transport.sendMail(options);
      const target = join(dir, `${emlStem(mail.messageId)}.eml`);
      const tmp = join(dir, `.${emlStem(mail.messageId)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const file = await openTemp(tmp);
        try {
          await file.writeFile(message as Buffer);
          // The e-mail counts as sent once the transaction commits, so it must be on disk by then.
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
