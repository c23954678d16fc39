import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel, type Admin, type LogEntry, type Producer, type RetryOptions, type SASLOptions, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import type { DependencyCheck } from '@orderflow/platform';

/** Where the brokers are and how to reach them (TLS, SASL): every Kafka client of an app uses the same. */
export interface KafkaConnection {
  brokers: string[];
  ssl?: boolean;
  sasl?: SASLOptions;
}

/** The connection from the parsed kafkaEnv variables (see libs/config). */
export function kafkaConnection(config: {
  KAFKA_BROKERS: string[];
  KAFKA_SSL: boolean;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
}): KafkaConnection {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username = '', KAFKA_SASL_PASSWORD: password = '' } = config;
  return {
    brokers: config.KAFKA_BROKERS,
    ...(config.KAFKA_SSL ? { ssl: true } : {}),
    ...(mechanism ? { sasl: { mechanism, username, password } as SASLOptions } : {}),
  };
}

export interface KafkaOptions extends KafkaConnection {
  clientId: string;
  logger?: Logger;
  retry?: RetryOptions;
}

// ~55 s of backoff per operation: rides out a broker restart, then surfaces the error to the caller.
const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 250, maxRetryTime: 10_000, retries: 10 };

// How long one request waits for its answer (kafkajs' default is 30 s; fetch and join-group requests
// get their own longer bounds from kafkajs). A frozen broker fails a send attempt after this, and the
// outbox relay gives up on a whole publish after its publishTimeoutMs.
const REQUEST_TIMEOUT_MS = 10_000;

/** A kafkajs client with our retry policy and timeouts; logs go through pino when `logger` is given. */
export function createKafka({ clientId, logger, retry, ...connection }: KafkaOptions): Kafka {
  return new Kafka({
    ...connection,
    clientId,
    connectionTimeout: 3_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, ...retry },
    ...(logger ? { logLevel: kafkaLevel(logger.level), logCreator: pinoLogCreator(logger) } : { logLevel: logLevel.WARN }),
  });
}

function kafkaLevel(level: string): logLevel {
  if (level === 'silent') return logLevel.NOTHING;
  if (level === 'fatal' || level === 'error') return logLevel.ERROR;
  if (level === 'warn') return logLevel.WARN;
  if (level === 'info') return logLevel.INFO;
  return logLevel.DEBUG;
}

function pinoLogCreator(logger: Logger): logCreator {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry;
      log[pinoMethod(namespace, level, message)]({ namespace, ...extra }, message);
    };
}

function pinoMethod(namespace: string, level: logLevel, message: string): 'error' | 'warn' | 'info' | 'debug' {
  // We bound producer retries on purpose (the outbox relay retries, consumers de-duplicate by id).
  if (message.startsWith('Limiting retries for the idempotent producer')) return 'debug';
  // Every error response is logged before kafkajs retries it (rebalancing, coordinator loading…);
  // keep ERROR for operations that actually failed.
  if (level === logLevel.ERROR) return namespace === 'Connection' && message.startsWith('Response ') ? 'warn' : 'error';
  return level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug';
}

export interface EnsureTopicsOptions {
  /** Per topic; 3 by default. Existing topics are left as they are. */
  partitions?: number;
  /** -1 (default) takes the broker's `default.replication.factor`. */
  replicationFactor?: number;
  timeoutMs?: number;
}

/**
 * Creates `wanted` topics (orderflow's: libs/domain `topicNames`) if missing and waits until every
 * partition has a leader, so producing right after works. Safe to run concurrently and repeatedly.
 * Returns the topic names.
 */
export async function ensureTopics(kafka: Kafka, wanted: string[], options: EnsureTopicsOptions = {}): Promise<string[]> {
  const { partitions = 3, replicationFactor = -1, timeoutMs = 30_000 } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    let createError: unknown;
    if (missing.length > 0) {
      try {
        await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })), timeout: timeoutMs });
      } catch (error) {
        // Another process creating the same topics at the same moment makes this fail (already exists,
        // or unknown partition while the broker catches up); the wait below decides whether they exist.
        createError = error;
      }
    }
    // Our own wait rather than createTopics' (which gives up on the first transient metadata error).
    await waitForLeaders(admin, wanted, Date.now() + timeoutMs, createError);
    return wanted;
  } finally {
    await admin.disconnect();
  }
}

async function waitForLeaders(admin: Admin, topics: string[], deadline: number, createError?: unknown): Promise<void> {
  let lastError = createError;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      const ready = metadata.length === topics.length && metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`topics ${topics.join(', ')} do not exist with a leader for every partition${reason}`);
    }
    await delay(100);
  }
}

/**
 * An idempotent producer (acks=all is kafkajs' default for send(); don't override it). kafkajs already
 * serialises an idempotent producer's requests per broker; one in flight keeps per-key order on retries.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * Health check over one long-lived admin client without retries: each check asks the cluster for
 * its metadata (a real round trip, so a frozen broker fails at `timeoutMs`). A failed check drops
 * the connection and the next one reconnects, so a recovered broker answers on the next round.
 */
export function kafkaHealthCheck(connection: KafkaConnection, timeoutMs = 2_000): DependencyCheck & { close(): Promise<void> } {
  const admin = reusableAdmin(
    new Kafka({
      ...connection,
      clientId: 'orderflow-health',
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }),
  );
  return {
    name: 'kafka',
    check: () => admin.use(async (a) => void (await a.describeCluster())),
    close: admin.close,
  };
}

/**
 * One admin connection, opened on first use and kept between uses; a request that fails drops it,
 * so the next use connects afresh (after a broker restart, or a frozen broker's timeout).
 */
export function reusableAdmin(kafka: Kafka): { use<T>(request: (admin: Admin) => Promise<T>): Promise<T>; close(): Promise<void> } {
  let admin: Promise<Admin> | undefined;
  const close = async () => {
    const current = admin;
    admin = undefined;
    await (await current?.catch(() => undefined))?.disconnect().catch(() => undefined);
  };
  const connect = async () => {
    const a = kafka.admin();
    await a.connect();
    return a;
  };
  return {
    async use(request) {
      try {
        return await request(await (admin ??= connect()));
      } catch (error) {
        await close();
        throw error;
      }
    },
    close,
  };
}
