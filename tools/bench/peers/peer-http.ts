// The node:http plumbing both benchmark peers (floor, DBOS) share. They answer orderflow's API without
// express, so they read and refuse bodies as the orchestrator's express.json does; what each answers,
// and how it shuts down, stays in its own server.ts.
import type { IncomingMessage, Server } from 'node:http';
import { HttpProblem, problemBody } from '../../../apps/orchestrator/src/http/problem';

/** An answer as a value: routes return it, the server writes it, the floor stores it for a replay. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const BODY_LIMIT = 64 * 1024; // express.json({ limit: '64kb' }) in the orchestrator

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  body: Buffer.from(JSON.stringify(value)),
});

/** The problem+json answer for `problem` about the request at `instance`. */
export function problemAnswer(problem: HttpProblem, instance: string | undefined, contentType: string): Answer {
  const body = problemBody(problem.problem, problem.detail, problem.extra, instance);
  return { status: body.status, headers: { 'Content-Type': contentType }, body: Buffer.from(JSON.stringify(body)) };
}

/** What a thrown value is answered as: a 500 for anything unexpected, whose details stay in the caller's log. */
export const problemOf = (error: unknown): HttpProblem => (error instanceof HttpProblem ? error : new HttpProblem('internal'));

/** A header's value as one string (repeated ones joined, as node does for most headers). */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

// As the orchestrator's JSON parser: no key that could reach Object.prototype.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
function rejectPollution(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError(`forbidden key ${key}`);
  return value;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) return void chunks.push(chunk);
      req.removeAllListeners('data');
      req.resume();
      reject(new HttpProblem('payload-too-large', 'the body limit is 64 KiB'));
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The body as the orchestrator's express.json sees it: undefined without one, 415/400 for what it refuses.
 * `emptyAsObject`: an announced but empty body (chunked, no data) is `{}`, as express.json makes it;
 * without it, such a body is malformed JSON.
 */
export async function jsonBody(req: IncomingMessage, { emptyAsObject }: { emptyAsObject: boolean }): Promise<unknown> {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return undefined;
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) throw new HttpProblem('unsupported-media-type');
  const text = (await readBody(req)).toString('utf8');
  if (emptyAsObject && text.length === 0) return {};
  if (!/^\s*[{[]/.test(text)) throw new HttpProblem('malformed-json'); // strict: an object or an array at the top
  try {
    return JSON.parse(text, rejectPollution);
  } catch {
    throw new HttpProblem('malformed-json');
  }
}

/** Listens on 127.0.0.1 only: the peers are driven by the benchmark on the same machine. */
export function listenOnLoopback(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
}
