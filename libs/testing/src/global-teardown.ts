/** Stops whatever the global setup started with testcontainers. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__orderflowContainers ?? []).map((c) => c.stop()));
}
