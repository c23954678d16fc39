import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { annotateRequestLog, requestLog } from './request-log';

/** An app with the request log on a logger at `level`, its lines collected; serves /orders/:id, /healthz, /boom. */
async function serve(level: pino.Level) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const app = express();
  app.use(requestLog(logger));
  app.get('/orders/:id', (req, res) => {
    annotateRequestLog(res, { orderId: req.params.id });
    res.status(202).json({});
  });
  app.get('/healthz', (_req, res) => void res.json({}));
  app.get('/boom', (_req, res) => void res.status(503).json({}));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    lines,
    // The line is written when the response finishes, before the client has read the whole body.
    get: async (path: string) => void (await (await fetch(`${base}${path}`, { headers: { authorization: 'Bearer secret' } })).text()),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('the request log', () => {
  it('writes one line per request with method, path without query, status, duration and annotated fields, never headers', async () => {
    const app = await serve('info');
    await app.get('/orders/o-1?cursor=abc');
    await app.close();
    expect(app.lines).toHaveLength(1);
    expect(app.lines[0]).toMatchObject({
      level: 30,
      msg: 'GET /orders/o-1 202',
      req: { method: 'GET', path: '/orders/o-1' },
      res: { status: 202 },
      orderId: 'o-1',
    });
    expect(app.lines[0]!.responseTime).toEqual(expect.any(Number));
    expect(JSON.stringify(app.lines)).not.toContain('secret');
  });

  it('logs probes at debug and server errors at error', async () => {
    const app = await serve('debug');
    await app.get('/healthz');
    await app.get('/boom');
    await app.close();
    expect(app.lines.map((l) => [l.msg, l.level])).toEqual([
      ['GET /healthz 200', 20],
      ['GET /boom 503', 50],
    ]);
  });

  it('writes nothing for requests below the level and still logs the errors above it', async () => {
    const app = await serve('warn');
    await app.get('/orders/o-2');
    await app.get('/healthz');
    await app.get('/boom');
    await app.close();
    expect(app.lines.map((l) => l.msg)).toEqual(['GET /boom 503']);
  });
});
