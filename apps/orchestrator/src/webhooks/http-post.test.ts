import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook, type Resolver } from './http-post';

/** A receiver on loopback that answers as `respond` says and counts what it got, and every TCP connection made to it. */
async function receiver(respond: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const hits: string[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    respond(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { hits, port, connections: () => connections, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A DNS server that answers `addresses` for every name, as one that rebinds a partner's name would at delivery; records what it was asked. */
function dnsAnswering(...addresses: string[]) {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { asked, resolve };
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

  it('connects to the addresses its resolver answered at delivery, and to nothing else', async () => {
    const r = await receiver((_req, res) => res.end());
    const dns = dnsAnswering('127.0.0.1');
    try {
      // The name does not exist in real DNS: the socket can only have gone where the resolver said.
      await expect(postWebhook(`http://partner.invalid:${r.port}/hook`, '{}', {}, { ...open, resolve: dns.resolve })).resolves.toEqual({ status: 200 });
      expect(dns.asked).toContain('partner.invalid');
      expect(r.hits).toEqual(['POST /hook']);
    } finally {
      await r.close();
    }
  });

  it('refuses a name that resolves to a private address at delivery, without connecting', async () => {
    const r = await receiver((_req, res) => res.end());
    try {
      for (const address of ['127.0.0.1', '10.0.0.7', '169.254.169.254', '::1', '::ffff:127.0.0.1']) {
        const dns = dnsAnswering(address);
        await expect(postWebhook(`https://partner.example:${r.port}/`, '{}', {}, { ...strict, resolve: dns.resolve })).rejects.toThrow(
          `partner.example resolves to ${address}, which is not a public address`,
        );
        expect(dns.asked).toEqual(['partner.example']);
      }
      expect(r.connections()).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('refuses a name whose answer mixes public and private addresses, whichever comes first, without connecting', async () => {
    const r = await receiver((_req, res) => res.end());
    try {
      // One private address refuses the name (address-guard.ts checkAddresses): connecting to the public
      // ones only would still let a rebinding server choose which answer a later connection uses.
      for (const answer of [
        ['127.0.0.1', '93.184.215.14'],
        ['93.184.215.14', '127.0.0.1'],
        ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', '127.0.0.1'],
      ]) {
        const dns = dnsAnswering(...answer);
        await expect(postWebhook(`https://partner.example:${r.port}/`, '{}', {}, { ...strict, resolve: dns.resolve })).rejects.toThrow(
          'partner.example resolves to 127.0.0.1, which is not a public address',
        );
      }
      expect(r.connections()).toBe(0);
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
