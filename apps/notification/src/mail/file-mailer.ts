import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
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
      // RFC 5322 lines end in CRLF. nodemailer applies `newline` per message (its types list it only on the transport).
      const options = { ...toMessage(mail), newline: 'windows' };
      const { message } = await transport.sendMail(options);
      const target = join(dir, `${emlStem(mail.messageId)}.eml`);
      const tmp = join(dir, `.${emlStem(mail.messageId)}.${tmpPrefix}.${(written++).toString(36)}.tmp`);
      try {
        // The e-mail counts as sent once the transaction commits, so it must be on disk by then (flush: fsync).
        await writeTemp(tmp, message as Buffer);
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
