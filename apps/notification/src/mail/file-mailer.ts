import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
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
/**
 * The message as RFC 5322 bytes, CRLF line ends throughout. nodemailer's MailComposer, not a stream
 * transport: the transport piped every message through streams and a newline converter for a third of
 * this worker's CPU per e-mail. MailComposer ends its own lines with CRLF and leaves a 7-bit body's
 * lines as given, so the bodies arrive with CRLF.
 */
function compose(mail: Mail): Promise<Buffer> {
  const { text, html, ...headers } = toMessage(mail);
  const crlf = (body: string) => body.replace(/\r?\n/g, '\r\n');
  return new Promise((resolve, reject) =>
    new MailComposer({ ...headers, text: crlf(text), html: crlf(html) }).compile().build((error, message) => (error ? reject(error) : resolve(message))),
  );
}

export function createFileMailer(dir: string): Mailer {
  // The directory is made once, not per e-mail; should it vanish later, the first write that misses it makes it again.
  let made: Promise<unknown> | undefined;
  const ensureDir = (again = false) => {
    if (again) made = undefined;
    return (made ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
  };
  // The callback form with `flush` (write, fsync, close in one call, no FileHandle object per e-mail)
  // costs a fraction of open/writeFile/sync/close on the promise API, which was most of this worker's CPU.
  const writeFlushed = promisify(writeFile);
  const writeTemp = async (tmp: string, message: Buffer) => {
    await ensureDir();
    try {
      await writeFlushed(tmp, message, { flush: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      await ensureDir(true);
      await writeFlushed(tmp, message, { flush: true });
    }
  };
  // Temporary names unique per process without drawing random bytes per e-mail.
  const tmpPrefix = `${process.pid}.${Date.now().toString(36)}`;
  let written = 0;
  return {
    async send(mail: Mail) {
      const message = await compose(mail);
      const target = join(dir, `${emlStem(mail.messageId)}.eml`);
      const tmp = join(dir, `.${emlStem(mail.messageId)}.${tmpPrefix}.${(written++).toString(36)}.tmp`);
      try {
        // The e-mail counts as sent once the transaction commits, so it must be on disk by then (flush: fsync).
        await writeTemp(tmp, message);
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    close: () => undefined,
  };
}
