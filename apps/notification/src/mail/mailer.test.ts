import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRfc5322, startSilentServer, startSmtpSink, type SilentServer, type SmtpSink } from '@orderflow/testing';
import { loadNotificationConfig } from '../config';
import { createMailer, emlStem, messageIdHeader, type Mail } from './index';

const mail = (overrides: Partial<Mail> = {}): Mail => ({
  messageId: randomUUID(),
  to: 'alice@example.com',
  from: 'orderflow <orders@orderflow.local>',
  subject: 'Your order 123 is confirmed',
  text: 'Total: 34.05\n',
  html: '<p>Total: 34.05</p>\n',
  ...overrides,
});

describe('mail directory (SMTP_URL unset)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'notification-mail-')), 'not-yet-created');
  });
  afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }));

  it('writes one parseable RFC 5322 message per e-mail, named by the task id', async () => {
    const m = mail();
    const mailer = createMailer({ MAIL_DIR: dir, SMTP_URL: undefined });
    await mailer.send(m);
    mailer.close();

    expect(await readdir(dir)).toEqual([`${m.messageId}.eml`]);
    const raw = await readFile(join(dir, `${m.messageId}.eml`), 'utf8');
    expect(raw).not.toMatch(/[^\r]\n/); // CRLF line ends throughout
    const { headers, body } = parseRfc5322(raw);
    expect(headers.get('from')).toBe('orderflow <orders@orderflow.local>');
    expect(headers.get('to')).toBe('alice@example.com');
    expect(headers.get('subject')).toBe('Your order 123 is confirmed');
    expect(headers.get('message-id')).toBe(`<${m.messageId}@orderflow.local>`);
    expect(headers.get('mime-version')).toBe('1.0');
    expect(Number.isNaN(Date.parse(headers.get('date')!))).toBe(false);
    expect(headers.get('content-type')).toMatch(/^multipart\/alternative; boundary=/);
    expect(body).toContain('Total: 34.05');
    expect(body).toContain('<p>Total: 34.05</p>');
  });

  it('ends every line with CRLF and keeps the text of long and non-ASCII lines', async () => {
    const long = `Items: ${'espresso beans, '.repeat(20)}end`;
    const m = mail({ text: `Grüße aus Köln\n${long}\r\nlast line`, html: `<p>Grüße</p>\n<p>${long}</p>` });
    const mailer = createMailer({ MAIL_DIR: dir, SMTP_URL: undefined });
    await mailer.send(m);
    const raw = await readFile(join(dir, `${m.messageId}.eml`), 'utf8');
    expect(raw).not.toMatch(/[^\r]\n/);
    const { body } = parseRfc5322(raw);
    // Quoted-printable: soft line breaks (=CRLF) and escaped bytes undone, the text is the same.
    const decoded = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
    expect(decoded).toContain(`Grüße aus Köln\r\n${long}\r\nlast line`);
    expect(decoded).toContain(`<p>${long}</p>`);
  });

  it('a repeated task replaces its file instead of adding a second one', async () => {
    const m = mail();
    const mailer = createMailer({ MAIL_DIR: dir, SMTP_URL: undefined });
    await Promise.all([mailer.send(m), mailer.send(m)]);
    await mailer.send({ ...m, text: 'second rendering\n' });
    expect(await readdir(dir)).toEqual([`${m.messageId}.eml`]);
    expect(await readFile(join(dir, `${m.messageId}.eml`), 'utf8')).toContain('second rendering');
  });

  it('makes the directory again when it vanished after the first e-mail', async () => {
    const mailer = createMailer({ MAIL_DIR: dir, SMTP_URL: undefined });
    await mailer.send(mail());
    await rm(dir, { recursive: true });
    const m = mail();
    await mailer.send(m);
    expect(await readdir(dir)).toEqual([`${m.messageId}.eml`]);
  });

  it('never lets a task id choose a path outside the directory', () => {
    expect(emlStem('../../etc/passwd')).toMatch(/^[0-9a-f]{64}$/);
    expect(emlStem('.hidden')).toMatch(/^[0-9a-f]{64}$/);
    expect(messageIdHeader('a b<c>', 'x@shop.example')).toBe('<a_b_c_@shop.example>');
  });
});

describe('SMTP (SMTP_URL set)', () => {
  let sink: SmtpSink;
  beforeEach(async () => {
    sink = await startSmtpSink();
  });
  afterEach(() => sink.close());

  it('delivers the message with the task id as Message-ID', async () => {
    const m = mail();
    const mailer = createMailer({ SMTP_URL: sink.url, MAIL_DIR: '/nonexistent' });
    await mailer.send(m);
    mailer.close();
    expect(sink.messages).toHaveLength(1);
    const { headers } = parseRfc5322(sink.messages[0]!);
    expect(headers.get('message-id')).toBe(`<${m.messageId}@orderflow.local>`);
    expect(headers.get('to')).toBe('alice@example.com');
    expect(headers.get('subject')).toBe('Your order 123 is confirmed');
  });

  it('marks a 5xx refusal permanent and leaves a 4xx one retryable', async () => {
    const mailer = createMailer({ SMTP_URL: sink.url, MAIL_DIR: '/nonexistent' });
    sink.failNext('451 4.3.0 try again later');
    const transient = await mailer.send(mail()).catch((e: unknown) => e);
    sink.failNext('550 5.1.1 no such user');
    const permanent = await mailer.send(mail()).catch((e: unknown) => e);
    mailer.close();
    expect(transient).toMatchObject({ responseCode: 451 });
    expect(transient).not.toHaveProperty('nonRetryable');
    expect(permanent).toMatchObject({ responseCode: 550, nonRetryable: true });
    expect(sink.messages).toHaveLength(0);
  });
});

describe('SMTP against a server that accepts connections and never answers', () => {
  let server: SilentServer;
  beforeAll(async () => void (server = await startSilentServer()));
  afterAll(() => server.close());

  it("fails a send after SMTP_TIMEOUT_MS, retryable, instead of waiting for nodemailer's minutes", async () => {
    const { port } = server;
    const config = loadNotificationConfig({ SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_TIMEOUT_MS: '300' });
    const mailer = createMailer(config);
    const started = Date.now();
    const error = await mailer.send(mail()).catch((e: unknown) => e);
    mailer.close();
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toHaveProperty('nonRetryable');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
