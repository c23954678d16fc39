import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { backoffMs, createGroupCommit, inRemoteTrace, recordingSpan, type LogFields } from '@orderflow/platform';
import { ATTEMPT_HEADER } from './publishers';
import { failureRoutingKey, type TaskTopology } from '@orderflow/domain';
import { connectAmqp, declareTaskTopology } from './rabbit';
import { RABBIT_PROCESS_ATTRIBUTES, rabbitDeliveryAttributes } from './semconv';

/** What a failed delivery turned into: a retry hop or a dead letter. */
export interface TaskFailure {
  messageId: string | undefined;
  /** The delivery that failed (1-based, from the attempt header). */
  attempt: number;
  routingKey: string;
  error: string;
}

/** What a batch handler gets besides its messages. */
export interface TaskBatch {
  /**
   * Runs `fn` in `message`'s own trace span and log fields (the batch handler itself runs in none),
   * e.g. for a log line about that one task.
   */
  withinTask<T>(message: ConsumeMessage, fn: () => T): T;
}

/** One task at a time: the handler resolves (ack) or throws (retry ladder, DLQ, or outage requeue). */
export interface SingleTaskHandler {
  /** Applies one task; must be idempotent on message_id. Throw `{ permanent: true }` / `{ nonRetryable: true }` to skip retries. */
  handle(body: Buffer, message: ConsumeMessage): Promise<void>;
  handleBatch?: never;
}

/**
 * Tasks in batches ("natural batching"): the first delivery after idle is handled on the next
 * setImmediate with whatever else arrived by then; deliveries arriving while a batch is handled
 * form the next batch, started as soon as that one settles. No timer, so no added latency at low
 * load; a batch holds at most `prefetch` messages.
 */
export interface BatchTaskHandler {
  /**
   * Applies the tasks of a batch; must be idempotent on message_id. Answers one entry per message,
   * in order: `undefined` when that task succeeded, otherwise its error, which is settled as a
   * `handle` throwing it would be. Throwing fails every message of the batch with that error.
   */
  handleBatch(messages: ConsumeMessage[], batch: TaskBatch): Promise<unknown[]>;
  handle?: never;
}

export type TaskWorkerOptions = TaskWorkerSettings & (SingleTaskHandler | BatchTaskHandler);

export interface TaskWorkerSettings {
  url: string;
  /** The topology to declare and consume: the worker knows no queue names of its own (orderflow's notification tasks: libs/domain `taskTopology`). */
  topology: TaskTopology;
  logger: Logger;
  /** Unacked deliveries in flight at once (default 16); also the largest batch. */
  prefetch?: number;
  onRetry?(failure: TaskFailure): void;
  onDeadLetter?(failure: TaskFailure): void;
  /** Connection name shown by the broker. */
  name?: string;
  /** Which queue of the topology to consume (default the work queue; the dead-letter collector reads the DLQ). */
  queue?: (topology: TaskTopology) => string;
  /**
   * What a handler failure does: `retry-ladder` (default) re-publishes through the retry queues and
   * the DLQ; `requeue` puts the message back after a pause (for consumers of the DLQ itself).
   */
  onFailure?: 'retry-ladder' | 'requeue';
  /**
   * Failures that say a dependency is down rather than that the task failed (e.g. the handler's own
   * database is unreachable): the task is put back after a pause without spending a retry, however
   * long the outage lasts.
   */
  isOutage?: (error: unknown) => boolean;
  maxReconnectDelayMs?: number;
  /** Fields for every log line while a task is handled, e.g. `{ orderId }` from its correlation id. */
  logFields?: (message: ConsumeMessage) => LogFields;
}

export interface TaskWorker {
  /** Connects, declares the topology and starts consuming; rejects if the first connection fails. */
  start(): Promise<void>;
  /** Cancels the consumer, waits for in-flight handlers, closes channels and connection. */
  stop(): Promise<void>;
  /** Health check over the live session: rejects while reconnecting or when the broker does not answer. */
  check(): Promise<void>;
}

/** An error the task worker dead-letters at once instead of retrying (e.g. an invalid body). */
export function permanentTaskError(message: string, cause?: unknown): Error & { nonRetryable: true } {
  return Object.assign(new Error(message, { cause }), { nonRetryable: true as const });
}

/**
 * An error that puts a task back for later without spending an attempt: it goes through the first
 * retry queue (its TTL) with its attempt count unchanged, and its prefetch slot is freed meanwhile
 * (e.g. a webhook whose receiver already has as many deliveries in flight as it may).
 */
export function deferredTaskError(message: string): Error & { deferred: true } {
  return Object.assign(new Error(message), { deferred: true as const });
}

const isDeferred = (e: unknown) => typeof e === 'object' && e !== null && (e as { deferred?: unknown }).deferred === true;

const isPermanent = (e: unknown) =>
  typeof e === 'object' && e !== null && ((e as { permanent?: unknown }).permanent === true || (e as { nonRetryable?: unknown }).nonRetryable === true);

// Broker bookkeeping of the previous hop; the copy is a fresh message, and our own headers count attempts.
const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count)/;

interface Session {
  connection: ChannelModel;
  channel: Channel;
  confirm: ConfirmChannel;
  consumerTag: string;
  queue: string;
  returned: Set<string>;
  /** Settles the deliveries of `channel`: every ack and nack goes through it. */
  acks: AckCoalescer;
}

interface AckCoalescer {
  /** Records a delivery of the channel, in delivery order, before it is handled. */
  delivered(message: ConsumeMessage): void;
  /** Acks a delivery with the others acked in the same tick; resolves once its ack frame is sent. */
  ack(message: ConsumeMessage): Promise<void>;
  /** Nacks (requeues) a delivery at once, with a frame of its own. */
  requeue(message: ConsumeMessage): void;
}

/**
 * Coalesces the acks of one channel: the tasks of a batch settle in the same tick, and one basic.ack
 * with multiple=true (one frame, one socket write, one broker operation) settles them all instead of
 * one ack per task. A multiple ack settles every delivery of the channel up to its tag, so it may only
 * cover the contiguous run of acked deliveries counted from the lowest one still unsettled; an ack
 * above a delivery not settled yet (a slow task, one waiting out the outage pause or being re-published
 * to a retry queue) is sent alone, in the same flush. So no ack waits for another task, and nothing is
 * acked before its own handler's work is done. A nacked delivery is settled too: it is never acked.
 */
function createAckCoalescer(channel: Pick<Channel, 'ack' | 'nack'>): AckCoalescer {
  interface PendingAck {
    message: ConsumeMessage;
    sent(error?: unknown): void;
  }
  // Tags delivered and not yet acked or nacked; ascending, as the broker numbers a channel's deliveries.
  const unsettled = new Set<number>();
  // Acks asked for in this tick, by tag.
  let pending = new Map<number, PendingAck>();

  /** One basic.ack for the last of `acks` (multiple: for all of them). */
  function send(acks: PendingAck[], multiple: boolean): void {
    try {
      channel.ack(acks[acks.length - 1]!.message, multiple); // throws once the channel is closed (a dropped session)
    } catch (error) {
      for (const ack of acks) ack.sent(error);
      return;
    }
    for (const ack of acks) {
      unsettled.delete(ack.message.fields.deliveryTag);
      ack.sent();
    }
  }

  function flush(): void {
    const acking = pending;
    pending = new Map();
    const run: PendingAck[] = []; // acked tags from the lowest unsettled one up, without a gap
    for (const tag of unsettled) {
      const ack = acking.get(tag);
      if (!ack) break;
      run.push(ack);
      acking.delete(tag);
    }
    if (run.length > 0) send(run, run.length > 1);
    for (const ack of acking.values()) send([ack], false); // above an unsettled delivery: alone
  }

  /** The tag of a delivery that may still be settled; acking or nacking a tag twice closes the channel. */
  function unsettledTag(message: ConsumeMessage): number {
    const tag = message.fields.deliveryTag;
    if (!unsettled.has(tag) || pending.has(tag)) throw new Error(`delivery ${tag} is already settled`);
    return tag;
  }

  return {
    delivered(message) {
      unsettled.add(message.fields.deliveryTag);
    },
    ack(message) {
      return new Promise<void>((resolve, reject) => {
        const tag = unsettledTag(message);
        // Flushed once this tick's promise jobs have run: the other tasks of a batch settle in them.
        if (pending.size === 0) process.nextTick(flush);
        pending.set(tag, { message, sent: (error) => (error === undefined ? resolve() : reject(error)) });
      });
    },
    requeue(message) {
      const tag = unsettledTag(message);
      channel.nack(message, false, true);
      unsettled.delete(tag);
    },
  };
}

type TaskOutcome = { ok: true } | { ok: false; error: unknown };

const SUCCEEDED: TaskOutcome = { ok: true };

async function outcomeOf(run: () => Promise<unknown>): Promise<TaskOutcome> {
  try {
    await run();
    return SUCCEEDED;
  } catch (error) {
    return { ok: false, error };
  }
}

interface QueuedDelivery {
  message: ConsumeMessage;
  runInTaskContext: <R>(fn: () => R) => R;
}

/**
 * Natural batching (libs/platform group commit, one batch at a time, at most `maxBatch`): a delivery
 * joins the batch that runs on the next turn of the event loop; while one runs, new deliveries wait
 * and form the next batch, which starts as soon as the current one settles.
 */
function createBatcher(handleBatch: BatchTaskHandler['handleBatch'], maxBatch: number) {
  return createGroupCommit<QueuedDelivery, TaskOutcome>({
    maxBatch,
    async run(batch) {
      const contexts = new Map(batch.map((d) => [d.message, d.runInTaskContext]));
      const withinTask = <T>(message: ConsumeMessage, fn: () => T): T => {
        const runInTaskContext = contexts.get(message);
        return runInTaskContext ? runInTaskContext(fn) : fn();
      };
      // A wrong number of answers fails every task of the batch: the group commit checks the count.
      try {
        const results = await handleBatch(
          batch.map((d) => d.message),
          { withinTask },
        );
        return results.map((error): TaskOutcome => (error === undefined ? SUCCEEDED : { ok: false, error }));
      } catch (error) {
        return batch.map(() => ({ ok: false, error }));
      }
    },
  });
}

/**
 * Consumes the `notification.send` queue with manual acks. A failed task is re-published (confirmed)
 * to its retry queue or the DLQ *before* the original is acked, so a crash in between duplicates it,
 * never loses it. Attempts travel in headers; survives broker restarts by reconnecting with backoff.
 */
export function createTaskWorker(options: TaskWorkerOptions): TaskWorker {
  const { url, topology: wanted, logger, prefetch = 16, maxReconnectDelayMs = 10_000 } = options;
  if (!options.handle === !options.handleBatch) throw new Error('createTaskWorker needs exactly one of handle and handleBatch');
  // One batcher per worker, not per session: a batch may still hold deliveries of a session that has
  // since dropped; each is settled on its own session's channel (and fails there like a late single ack).
  const batches = options.handleBatch ? createBatcher(options.handleBatch, prefetch) : undefined;
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  let session: Session | undefined;
  let reconnecting: Promise<void> | undefined;

  async function fail(s: Session, topology: TaskTopology, msg: ConsumeMessage, error: unknown) {
    const headers = { ...msg.properties.headers };
    const attempt = Math.max(1, Math.floor(Number(String(headers[ATTEMPT_HEADER] ?? 1))) || 1);
    const deferred = isDeferred(error);
    const routingKey = deferred
      ? (topology.retryQueues[0]?.routingKey ?? topology.routingKey)
      : isPermanent(error)
        ? topology.dlq.routingKey
        : failureRoutingKey(topology, attempt);
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1_000);
    const now = new Date().toISOString();
    for (const name of Object.keys(headers)) if (BROKER_HEADERS.test(name)) delete headers[name];
    // A deferred task keeps its attempt count and failure record: it did not fail.
    const next = deferred ? attempt : attempt + 1;
    headers[ATTEMPT_HEADER] = next;
    if (!deferred) Object.assign(headers, { 'x-last-error': reason, 'x-first-failed-at': headers['x-first-failed-at'] ?? now, 'x-last-failed-at': now });
    const dead = routingKey === topology.dlq.routingKey;
    if (dead) Object.assign(headers, { 'x-error': reason, 'x-attempts': attempt });
    const { contentType, contentEncoding, correlationId, messageId, timestamp, type, appId, priority, replyTo } = msg.properties;
    const key = `${messageId}/${next}`;
    await new Promise<void>((resolve, reject) =>
      s.confirm.publish(
        topology.exchange,
        routingKey,
        msg.content,
        { persistent: true, mandatory: true, headers, contentType, contentEncoding, correlationId, messageId, timestamp, type, appId, priority, replyTo },
        // The broker sends basic.return before the confirm, so an unroutable copy is a failure here.
        (err) => (s.returned.delete(key) || err ? reject(err ?? new Error(`unroutable: ${routingKey}`)) : resolve()),
      ),
    );
    const failure = { messageId, attempt, routingKey, error: reason };
    if (deferred) return logger.debug(failure, 'task deferred');
    if (dead) options.onDeadLetter?.(failure);
    else options.onRetry?.(failure);
    logger[dead ? 'error' : 'warn']({ ...failure, err: error }, dead ? 'task dead-lettered' : 'task failed; scheduled a retry');
  }

  /** Acks a task that succeeded; a failed one is requeued (outage), retried or dead-lettered, then acked. */
  async function settle(s: Session, topology: TaskTopology, msg: ConsumeMessage, outcome: TaskOutcome) {
    try {
      if (!outcome.ok) {
        const { error } = outcome;
        if (options.onFailure === 'requeue' || options.isOutage?.(error)) {
          logger.warn({ err: error, messageId: msg.properties.messageId }, 'handler failed; requeueing without spending a retry');
          await delay(1_000);
          return s.acks.requeue(msg);
        }
        await fail(s, topology, msg, error);
      }
      await s.acks.ack(msg);
    } catch (error) {
      // No ack: the broker redelivers once the channel is gone. Reconnect rather than spin.
      logger.error({ err: error, messageId: msg.properties.messageId }, 'could not settle task; reconnecting');
      await s.connection.close().catch(() => undefined);
    }
  }

  /** Handles and settles one delivery; runs inside the delivery's trace span and log fields. */
  async function handleDelivery(s: Session, topology: TaskTopology, msg: ConsumeMessage): Promise<void> {
    if (options.handle) return settle(s, topology, msg, await outcomeOf(() => options.handle!(msg.content, msg)));
    // Snapshot taken here, inside the delivery's span: the batch handler's `withinTask` runs in it.
    const runInTaskContext = AsyncLocalStorage.snapshot();
    const outcome = await batches!.add({ message: msg, runInTaskContext }).catch((error: unknown): TaskOutcome => ({ ok: false, error }));
    return settle(s, topology, msg, outcome);
  }

  async function connect(): Promise<void> {
    const connection = await connectAmqp(url, { name: options.name ?? 'orderflow-task-worker', logger });
    try {
      const channel = await connection.createChannel();
      const confirm = await connection.createConfirmChannel();
      const s: Session = { connection, channel, confirm, consumerTag: '', queue: '', returned: new Set(), acks: createAckCoalescer(channel) };
      // Any channel dying (a protocol error) restarts the whole session; the broker requeues unacked tasks.
      for (const ch of [channel, confirm]) {
        ch.on('error', (error: Error) => logger.warn({ err: error }, 'amqp channel error')); // never an unhandled 'error' event
        ch.on('close', () => void (stopping.signal.aborted || connection.close().catch(() => undefined)));
      }
      confirm.on('return', (m: ConsumeMessage) => s.returned.add(`${m.properties.messageId}/${m.properties.headers?.[ATTEMPT_HEADER]}`));
      const topology = await declareTaskTopology(channel, wanted);
      await channel.prefetch(prefetch);
      const queue = options.queue?.(topology) ?? topology.queue;
      s.queue = queue;
      const processName = `process ${queue}`;
      const consumer = await channel.consume(
        queue,
        (msg) => {
          if (!msg) return void connection.close().catch(() => undefined); // consumer cancelled by the broker
          s.acks.delivered(msg);
          // Continues the publisher's trace (the `traceparent` header) while the task is handled and settled:
          // a `process <queue>` span (OpenTelemetry messaging conventions), detailed only when recorded.
          const fields = options.logFields?.(msg) ?? {};
          const p = inRemoteTrace(
            msg.properties.headers,
            processName,
            fields,
            () => {
              recordingSpan()?.setAttributes(rabbitDeliveryAttributes(queue, msg));
              return handleDelivery(s, topology, msg);
            },
            RABBIT_PROCESS_ATTRIBUTES,
          ).finally(() => inFlight.delete(p));
          inFlight.add(p);
        },
        { noAck: false },
      );
      s.consumerTag = consumer.consumerTag;
      // Registered last (no event can interleave since the await): a failed start throws instead of looping.
      connection.on('close', () => {
        if (session === s) session = undefined;
        if (stopping.signal.aborted) return;
        logger.warn('amqp connection lost; reconnecting');
        reconnecting ??= reconnect().finally(() => (reconnecting = undefined));
      });
      session = s;
      logger.info({ queue, prefetch }, 'task worker consuming');
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  async function reconnect(): Promise<void> {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      const wait = backoffMs(attempt, { baseMs: 250, capMs: maxReconnectDelayMs, jitter: false });
      if (!(await delay(wait, true, { signal: stopping.signal }).catch(() => false))) return;
      try {
        return await connect();
      } catch (error) {
        logger.warn({ err: error, attempt }, 'amqp reconnect failed');
      }
    }
  }

  return {
    start: connect,
    async check() {
      const s = session;
      if (!s) throw new Error('not connected to RabbitMQ (reconnecting)');
      await s.channel.checkQueue(s.queue); // a round trip: a frozen broker does not answer
    },
    async stop() {
      stopping.abort();
      await reconnecting;
      const s = session;
      await s?.channel.cancel(s.consumerTag).catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await s?.confirm.close().catch(() => undefined);
      await s?.channel.close().catch(() => undefined);
      await s?.connection.close().catch(() => undefined);
    },
  };
}
