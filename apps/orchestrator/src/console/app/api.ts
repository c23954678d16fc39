// The admin API as the console calls it: bearer token, problem+json errors, and an Idempotency-Key on
// every write that a retry of the same action (after a network error or a 5xx) reuses.
import { getToken } from './session';

/** An RFC 9457 problem as the API answers it; `status` 0 when no answer came. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
  }
}

/** Called when the API answers 401 to a signed-in console: the token expired or was revoked. */
let onUnauthorized: (problem: Problem) => void = () => undefined;
export const setUnauthorizedHandler = (handler: (problem: Problem) => void) => void (onUnauthorized = handler);

/** A v4 UUID; crypto.randomUUID exists only in secure contexts (https, localhost), getRandomValues everywhere. */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Keys of writes whose outcome is unknown (no answer, or a 5xx), by action: trying the same action
// again sends the same key, so the server applies it at most once. A different body is another action.
const unsettledKeys = new Map<string, string>();

async function send<T>(method: string, path: string, options: { body?: unknown; token?: string; key?: boolean } = {}): Promise<T> {
  const token = options.token ?? getToken();
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const action = `${method} ${path} ${body ?? ''}`;
  if (options.key) {
    const key = unsettledKeys.get(action) ?? newKey();
    unsettledKeys.set(action, key);
    headers['idempotency-key'] = key;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError({ title: 'No answer from the server', status: 0, detail: 'check the connection; trying again is safe' });
  }
  if (options.key && res.status < 500) unsettledKeys.delete(action);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return (parsed ?? {}) as T;
  const problem =
    parsed && typeof parsed === 'object' && 'title' in parsed ? (parsed as Problem) : { title: res.statusText || 'Request failed', status: res.status };
  if (res.status === 401 && !options.token) onUnauthorized(problem);
  throw new ApiError({ ...problem, status: res.status });
}

/** Query string of the filled-in fields only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') q.set(name, String(value));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  get: <T>(path: string, token?: string) => send<T>('GET', path, { token }),
  post: <T>(path: string, body?: unknown) => send<T>('POST', path, { body, key: true }),
  put: <T>(path: string, body: unknown) => send<T>('PUT', path, { body, key: true }),
};
