// Fault test: two replicas of every app on one set of databases, topics and queues (one prefix), the
// way a deployment scales out. Each replica takes its share (gRPC round-robin, the saga consumer group,
// competing notification workers); one replica of each app is SIGKILLed mid-load and restarted.
import { waitFor } from '@orderflow/testing';
import { apiClient } from '../support/client';
import { groupAssignment } from '../support/faults';
import { expectEveryOrderConfirmed } from '../support/invariants';
import { createProducts, orderLoad, type Api, type Refusal } from '../support/load';
import { scrape, type Scrape } from '../support/observe';
import { APPS, startSystem, type AppName, type Instance, type System } from '../support/system';

let system: System;
let first: Api;
let second: Api;
let admin: string;

beforeAll(async () => {
  system = await startSystem('faults_replicas', {
    replicas: 2,
    // As in process-crashes: quick retries, a watchdog that resumes a dead runner's sagas within
    // seconds, and a key lock that lets a request that died with its orchestrator be retried soon.
    env: {
      SAGA_RETRY_BASE_MS: '100',
      SAGA_RETRY_MAX_MS: '1000',
      SAGA_MAX_ATTEMPTS: '10',
      SAGA_WATCHDOG_MS: '3000',
      BREAKER_RESET_MS: '1000',
      IDEMPOTENCY_LOCK_SECONDS: '2',
    },
    // Two full sets with the default pools hold up to 2 × 50 Postgres connections (each app’s
    // postgresConnections), a default max_connections of 100: smaller pools (2 × 26) leave room
    // for the test's own connections; the notification worker needs 4 whatever TASK_PREFETCH is.
    appEnv: { orchestrator: { PG_POOL_SIZE: '8' }, order: { PG_POOL_SIZE: '4' }, inventory: { PG_POOL_SIZE: '4' }, notification: { TASK_PREFETCH: '4' } },
  });
  [first, second] = system.urls.map(apiClient) as [Api, Api];
  admin = system.token('ops', 'admin');
}, 180_000);

afterAll(async () => {
  await system?.stop();
});

const grpcCalls = (s: Scrape, service: string) =>
  s.samples
    .filter((x) => x.name === 'orderflow_grpc_server_request_duration_seconds_count' && x.labels.method?.startsWith(`/orderflow.${service}.`))
    .reduce((n, x) => n + x.value, 0);

/** The work an instance did: gRPC calls served (health checks aside), sagas finished, e-mails sent. */
const WORK: Record<AppName, (s: Scrape) => number> = {
  order: (s) => grpcCalls(s, 'order'),
  inventory: (s) => grpcCalls(s, 'inventory'),
  orchestrator: (s) => s.sum('orderflow_saga_duration_seconds_count'),
  notification: (s) => s.sum('orderflow_notification_emails_sent_total'),
};
const workOf = async (instance: Instance) => WORK[instance.split('#')[0] as AppName](await scrape(system.opsUrl(instance)));
const workOfAll = async (instances: Instance[]) => new Map(await Promise.all(instances.map(async (i) => [i, await workOf(i)] as const)));

/** Polls until every instance did more work than `before` says (0 for one not listed): each took a share. */
async function everyInstanceWorked(instances: Instance[], before: Map<Instance, number>, what: string): Promise<void> {
  let now = new Map<Instance, number>();
  await waitFor(
    async () => {
      now = await workOfAll(instances);
      return instances.every((i) => now.get(i)! > (before.get(i) ?? 0));
    },
    { timeoutMs: 60_000, what: `${what}: ${JSON.stringify(Object.fromEntries(now))} after ${JSON.stringify(Object.fromEntries(before))}` },
  );
}

/** Both orchestrators hold saga partitions (KAFKA_TOPIC_PARTITIONS is 3). */
const sagaGroupSplit = async () => {
  const members = await groupAssignment(`${system.prefix}orchestrator.saga`, system.topics.orderEvents);
  return members?.length === 2 && members.every((partitions) => partitions.length > 0);
};

it('spreads orders over two replicas of every app and confirms every one exactly once when one replica of each is SIGKILLed and restarted mid-load', async () => {
  const all = system.instances();
  const seconds = APPS.map((app): Instance => `${app}#2`);
  const survivors = all.filter((i) => !seconds.includes(i));
  const products = await createProducts(first, admin, 'replicas', 3, 1_000);
  const skus = [...products.keys()];
  const viaFirst = orderLoad(system, first, skus);
  const viaSecond = orderLoad(system, second, skus);
  const baseline = await workOfAll(all);
  let stopped = false;
  const until = () => stopped;

  // 1. Both orchestrators take orders; every replica of every app does part of the work.
  const placingFirst = viaFirst.keepPlacing({ until, lanes: 2, everyMs: 400 });
  let placingSecond = viaSecond.keepPlacing({ until, lanes: 2, everyMs: 400, stopOnNoAnswer: true });
  try {
    await everyInstanceWorked(all, baseline, 'every replica to serve part of the load');
    await waitFor(sagaGroupSplit, { timeoutMs: 30_000, what: 'both orchestrators to hold saga partitions' });

    // 2. One replica of each app dies; the other orchestrator keeps taking orders and the survivors do all the work.
    expect([...viaFirst.refused, ...viaSecond.refused]).toEqual([]);
    const atKill = await workOfAll(survivors);
    await Promise.all(seconds.map((i) => system.kill(i, 'SIGKILL')));
    const killedAt = Date.now();
    // A gRPC call in flight on a killed replica fails (nothing retries it on the other one), so a request
    // sent before the kills completed may be answered 503; the client retries it with its key.
    const inFlightAtKill = (r: Refusal) => r.status === 503 && r.sentAt < killedAt;
    const acceptedAtKill = viaFirst.accepted.length;
    await placingSecond; // its lanes stop at their first unanswered request
    await waitFor(() => viaFirst.accepted.length >= acceptedAtKill + 30, { timeoutMs: 30_000, what: '30 orders accepted by the surviving orchestrator' });
    await everyInstanceWorked(survivors, atKill, 'the surviving replicas to carry the load alone');
    expect({ refused: viaFirst.refused.filter((r) => !inFlightAtKill(r)), unanswered: viaFirst.unanswered }).toEqual({ refused: [], unanswered: [] });
    expect((await viaFirst.retryRefused(inFlightAtKill)).filter((r) => r.status !== 202)).toEqual([]);

    // 3. Restarted, the replicas rejoin: the dead orchestrator's requests succeed when retried with their keys,
    // the saga group splits again, and each restarted replica (counting from 0) serves again.
    for (const i of seconds) await system.start(i);
    await system.ready();
    expect((await viaSecond.retryUnanswered()).map((r) => r.status)).toEqual([202, 202]);
    expect((await viaSecond.retryRefused(inFlightAtKill)).filter((r) => r.status !== 202)).toEqual([]);
    await waitFor(sagaGroupSplit, { timeoutMs: 60_000, what: 'the restarted orchestrator to hold saga partitions again' });
    placingSecond = viaSecond.keepPlacing({ until, lanes: 2, everyMs: 400 });
    await everyInstanceWorked(seconds, new Map(), 'every restarted replica to serve again');
  } finally {
    stopped = true;
    await Promise.all([placingFirst, placingSecond]);
  }

  await expectEveryOrderConfirmed(system, first, [viaFirst, viaSecond], { products, adminToken: admin, atLeast: 100 });
}, 240_000);
