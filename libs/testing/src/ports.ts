import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for test servers that are bound later, by another process, and bound again after a restart.
 *
 * "Bind port 0 and let it go" hands out a port from the kernel's ephemeral range, which is also where
 * every outgoing connection (Kafka, Postgres, RabbitMQ clients of parallel suites) takes its local
 * port: between the probe and the app's bind, a client socket may take it (EADDRINUSE in CI). So we
 * pick from below the ephemeral range, where only listeners live, in a block per jest worker so that
 * parallel workers never race each other, and probe each candidate to skip ports someone listens on.
 */
const LOWEST = 20_000;
const BLOCK = 1_000;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low) || 32_768;
  } catch {
    return 32_768; // Linux's default, also a fine bound elsewhere
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

async function ephemeralPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const blocks = Math.floor((ephemeralLow() - LOWEST) / BLOCK);
const worker = Number(process.env.JEST_WORKER_ID ?? 1);
const blockStart = LOWEST + ((worker - 1) % Math.max(blocks, 1)) * BLOCK;
// Random start inside the block: consecutive jest runs (and a leftover process of an earlier one) rarely meet.
let next = Math.floor(Math.random() * BLOCK);

/** A port nobody listens on now, outside the range outgoing connections draw from. */
export async function freePort(): Promise<number> {
  if (blocks < 1) return ephemeralPort(); // no room below the ephemeral range on this host
  for (let tried = 0; tried < BLOCK; tried++) {
    const port = blockStart + (next++ % BLOCK);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${blockStart}-${blockStart + BLOCK - 1}`);
}
