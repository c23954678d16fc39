import { once } from 'node:events';
import net from 'node:net';

export interface SmtpSink {
  url: string;
  /** Raw messages (DATA) the sink accepted. */
  messages: string[];
  /** Replies for the next DATA ends instead of 250 (e.g. '451 try later', '550 no such user'). */
  failNext(...replies: string[]): void;
  /** Refuses every message with `reply` until called with undefined (an SMTP server that is down for mail). */
  refuseAll(reply?: string): void;
  close(): Promise<void>;
}

/**
 * A minimal SMTP server for tests (RFC 5321 happy path: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, no
 * TLS, no auth): it keeps what it accepts and can refuse on purpose.
 */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: string[] = [];
  const failures: string[] = [];
  let refuseEverything: string | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket)).on('error', () => undefined);
    let buffer = '';
    let data: string[] | undefined;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 sink ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data) {
          if (line !== '.') data.push(line.startsWith('..') ? line.slice(1) : line);
          else {
            const refusal = failures.shift() ?? refuseEverything;
            if (!refusal) messages.push(data.join('\r\n'));
            reply(refusal ?? '250 queued');
            data = undefined;
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'DATA') data = [];
        reply(verb === 'DATA' ? '354 go ahead' : verb === 'QUIT' ? '221 bye' : verb === 'EHLO' || verb === 'HELO' ? '250 sink' : '250 ok');
        if (verb === 'QUIT') socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failNext: (...replies) => void failures.push(...replies),
    refuseAll: (reply) => void (refuseEverything = reply),
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

/** Header fields of an RFC 5322 message (unfolded, names lower-cased) and its body. */
export function parseRfc5322(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) throw new Error('no blank line between header and body');
  const headers = new Map<string, string>();
  for (const field of raw
    .slice(0, split)
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n')) {
    const colon = field.indexOf(':');
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(field.slice(0, colon))) throw new Error(`not a header field: ${field}`);
    headers.set(field.slice(0, colon).toLowerCase(), field.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(split + 4) };
}
