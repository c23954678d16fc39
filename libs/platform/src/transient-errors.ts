// A dependency that is unreachable, full or restarting makes a request unavailable, not broken: the
// caller should retry (gRPC UNAVAILABLE, HTTP 503 with Retry-After), and nothing internal is shown.

// SQLSTATE classes 08 (connection), 53 (insufficient resources, e.g. too many clients), 57P01-03
// (shutdown, crash recovery), 40001/40P01 (serialization failure, deadlock); socket errors; pg-pool's
// connect timeout, pg's lost connection and its client-side read timeout (a stalled server).
const TRANSIENT_SQLSTATE = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-3]|40001|40P01)$/;
const TRANSIENT_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
const TRANSIENT_MESSAGE = /^(timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error)/;

/** Whether `error` (a thrown value with an optional string `code`) is a transient infrastructure failure. */
export function isTransientInfrastructureError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_SOCKET.has(code))) return true;
  return error instanceof Error && TRANSIENT_MESSAGE.test(error.message);
}
