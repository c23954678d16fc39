import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook } from './http-post';

/** A receiver on loopback that answers as `respond` says and counts what it got. */
async function receiver(respond: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { hits, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const open = { allowPrivate: true, timeoutMs: 2_000 };
const strict = { allowPrivate: false, timeoutMs: 2_000 };

describe('postWebhook', () => {
  it('refuses a loopback receiver by address and by name unless private addresses are allowed, without connecting', async () => {
    const r = await receiver((_req, res) => res.end());
    try {
      await expect(postWebhook(`http://127.0.0.1:${r.port}/`, '{}', {}, strict)).rejects.toThrow('http: URLs are not delivered to');
      await expect(postWebhook(`https://127.0.0.1:${r.port}/`, '{}', {}, strict)).rejects.toThrow('127.0.0.1, which is not a public address');
      await expect(postWebhook(`https://localhost:${r.port}/`, '{}', {}, strict)).rejects.toThrow('which is not a public address');
      expect(r.hits).toEqual([]);
      await expect(postWebhook(`http://localhost:${r.port}/hook`, '{}', {}, open)).resolves.toEqual({ status: 200 });
      expect(r.hits).toEqual(['POST /hook']);
    } finally {
      await r.close();
    }
  });

  it('does not follow a redirect: it answers the 3xx and its target', async () => {
    const target = await receiver((_req, res) => res.end());
    const r = await receiver((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${target.port}/internal` }).end());
    try {
      await expect(postWebhook(`http://127.0.0.1:${r.port}/`, '{}', {}, open)).resolves.toEqual({
        status: 307,
        location: `http://127.0.0.1:${target.port}/internal`,
      });
      expect(target.hits).toEqual([]);
    } finally {
      await Promise.all([r.close(), target.close()]);
    }
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const r = await receiver(() => undefined); // never answers
    try {
      const started = Date.now();
      await expect(postWebhook(`http://127.0.0.1:${r.port}/`, '{}', {}, { ...open, timeoutMs: 300 })).rejects.toThrow('no answer within 300 ms');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await r.close();
    }
  });

  it('sends the body and headers as given', async () => {
    let got: { headers: http.IncomingHttpHeaders; body: string } | undefined;
    const r = await receiver((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        got = { headers: req.headers, body };
        res.writeHead(204).end();
      });
    });
    try {
      await expect(postWebhook(`http://127.0.0.1:${r.port}/`, '{"a":"é"}', { 'webhook-id': 'x' }, open)).resolves.toEqual({ status: 204 });
      expect(got).toMatchObject({ body: '{"a":"é"}', headers: { 'webhook-id': 'x', 'content-length': '10' } });
    } finally {
      await r.close();
    }
  });
});
