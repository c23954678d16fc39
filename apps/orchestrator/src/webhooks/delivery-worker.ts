import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { taskTopology, WEBHOOK_DELIVER } from '@orderflow/domain';
import { isTransientInfrastructureError, type LogFields } from '@orderflow/platform';
import { ATTEMPT_HEADER, createTaskWorker, deferredTaskError, permanentTaskError, type TaskWorker } from '@orderflow/messaging';
import { deliveryTaskSchema, eventBody, type DeliveryTask } from './delivery-task';
import { postWebhook, type PostResult } from './http-post';
import { signatureHeaders } from './signing';
import type { AttemptOutcome, WebhookRepository } from './webhook-repository';

export interface DeliveryWorkerOptions {
  amqpUrl: string;
  prefix: string;
  repo: WebhookRepository;
  logger: Logger;
  /** Deliveries in flight at once in this process (the queue's prefetch). */
  concurrency: number;
  /** Of which at most this many to one subscription: a slow receiver holds no more slots than that. */
  perSubscription: number;
  timeoutMs: number;
  allowPrivate: boolean;
  /** The POST itself (tests replace it). */
  post?: typeof postWebhook;
  onDelivered?(): void;
}

const USER_AGENT = 'orderflow-webhooks/1';

/** Parses a delivery task; one that can never be valid is dead-lettered at once. */
function parseTask(message: ConsumeMessage): DeliveryTask {
  let json: unknown;
  try {
    json = JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    throw permanentTaskError(`task body is not JSON: ${(error as Error).message}`);
  }
  const parsed = deliveryTaskSchema.safeParse(json);
  if (!parsed.success) throw permanentTaskError(`invalid webhook task: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data as DeliveryTask;
}

/** How a receiver's answer counts: 2xx delivered, 410 gone, anything else (a redirect too) a failure to retry. */
function outcomeOf(result: PostResult, final: boolean): AttemptOutcome {
  if (result.status >= 200 && result.status < 300) return { kind: 'delivered', statusCode: result.status };
  if (result.status === 410) return { kind: 'gone' };
  const redirect =
    result.status >= 300 && result.status < 400 ? ` (a redirect${result.location ? ` to ${result.location}` : ''}; redirects are not followed)` : '';
  return { kind: 'failed', statusCode: result.status, error: `the receiver answered ${result.status}${redirect}`, final };
}

/**
 * The `webhook.deliver` consumer: one POST per task, signed per attempt, its outcome recorded on the
 * delivery row. Success and 410 are acked; other failures go through the retry ladder (1 s, 4 s, 16 s)
 * to the dead letters. A task over its subscription's in-flight cap is deferred (1 s, no attempt
 * spent), so a receiver that hangs until the timeout never holds every slot. A delivery already
 * delivered is not sent again; one of a disabled subscription is settled as skipped.
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions): TaskWorker {
  const { repo, logger } = options;
  const topology = taskTopology(options.prefix, WEBHOOK_DELIVER);
  const post = options.post ?? postWebhook;
  const inFlight = new Map<string, number>();
  const lastAttempt = topology.retryQueues.length + 1;

  async function deliver(task: DeliveryTask, attempt: number): Promise<void> {
    const target = await repo.target(task.deliveryId);
    if (!target || target.status === 'delivered') return; // subscription deleted, or a duplicate task
    if (!target.enabled) return repo.record(task.deliveryId, { kind: 'skipped', error: 'the subscription is disabled' });
    const body = eventBody(task.event);
    const headers = {
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'user-agent': USER_AGENT,
      ...signatureHeaders(target.secret, task.event.id, Math.floor(Date.now() / 1_000), body),
    };
    const final = attempt >= lastAttempt;
    let outcome: AttemptOutcome;
    try {
      outcome = outcomeOf(await post(target.url, body, headers, { timeoutMs: options.timeoutMs, allowPrivate: options.allowPrivate }), final);
    } catch (error) {
      outcome = { kind: 'failed', error: (error as Error).message || String(error), final };
    }
    await repo.record(task.deliveryId, outcome);
    if (outcome.kind === 'delivered') options.onDelivered?.();
    if (outcome.kind === 'failed') throw new Error(outcome.error);
  }

  return createTaskWorker({
    url: options.amqpUrl,
    topology,
    logger,
    name: 'orderflow-webhooks',
    prefetch: options.concurrency,
    // Our own database down (reading the target, recording the outcome): put back without spending an attempt.
    isOutage: isTransientInfrastructureError,
    logFields: (message): LogFields => (message.properties.correlationId ? { deliveryId: String(message.properties.correlationId) } : {}),
    async handle(_body, message) {
      const task = parseTask(message);
      const busy = inFlight.get(task.subscriptionId) ?? 0;
      if (busy >= options.perSubscription) throw deferredTaskError(`subscription ${task.subscriptionId} has ${busy} deliveries in flight`);
      inFlight.set(task.subscriptionId, busy + 1);
      try {
        const attempt = Math.max(1, Number(message.properties.headers?.[ATTEMPT_HEADER] ?? 1) || 1);
        await deliver(task, attempt);
      } finally {
        const left = (inFlight.get(task.subscriptionId) ?? 1) - 1;
        if (left > 0) inFlight.set(task.subscriptionId, left);
        else inFlight.delete(task.subscriptionId);
      }
    },
  });
}
