// Freezing a shared broker (SIGSTOP: connections stay open, nothing answers) turns the /readyz of every
// process that needs it to 503 naming it within 5 s, and thawing it (SIGCONT) brings 200 back. A frozen
// downstream gRPC service is covered in e2e/observability.test.ts, which freezes only its own process.
import { waitFor } from '@orderflow/testing';
import { waitForExclusiveBrokers, whileFrozen, type SharedBroker } from '../support/freeze';
import { APPS, startSystem, type AppName, type System } from '../support/system';

let system: System;

beforeAll(async () => {
  await waitForExclusiveBrokers();
  system = await startSystem('faults_ready');
}, 16 * 60_000);

afterAll(() => system?.stop());

async function readyz(app: AppName): Promise<{ status: number; down: string[] }> {
  const res = await fetch(`${system.opsUrl(app)}/readyz`);
  return { status: res.status, down: ((await res.json()) as { down: string[] }).down };
}

const allReady = async () => (await Promise.all(APPS.map(readyz))).every((r) => r.status === 200);

const cases: [SharedBroker, AppName[]][] = [
  ['redis', ['orchestrator']],
  ['kafka', ['orchestrator', 'inventory']],
  ['rabbitmq', ['orchestrator', 'notification']],
];

describe('readiness while a shared broker is frozen', () => {
  it.each(cases)('%s frozen: /readyz of %j answers 503 naming it within 5 s, the others stay ready, and all recover', async (broker, affected) => {
    await waitFor(allReady, { timeoutMs: 30_000, intervalMs: 200, what: 'every process to be ready before the freeze' });
    await whileFrozen(broker, async () => {
      await Promise.all(
        affected.map((app) =>
          waitFor(async () => {
            const r = await readyz(app);
            return r.status === 503 && r.down.includes(broker);
          }, { timeoutMs: 5_000, intervalMs: 100, what: `${app} /readyz to name ${broker} within 5 s` }),
        ),
      );
      for (const app of APPS.filter((a) => !affected.includes(a))) expect({ app, ...(await readyz(app)) }).toEqual({ app, status: 200, down: [] });
    });
    await waitFor(allReady, { timeoutMs: 30_000, intervalMs: 200, what: `every process to be ready again after ${broker} thawed` });
  });
});
