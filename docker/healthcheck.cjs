// Container health check without curl or wget in the image: GET http://127.0.0.1:<port><path> and exit
// 0 on a 2xx, 1 otherwise. Usage: node docker/healthcheck.cjs <path> [<VARIABLE>=]<default port>. The
// variable (HTTP_PORT unless named; OPS_PORT for the orchestrator's ops routes) wins over the default, so
// a container started with another port is still checked on the right one.
/* global AbortSignal */
const [path = '/healthz', target = '8080'] = process.argv.slice(2);
const [, variable = 'HTTP_PORT', fallbackPort] = /^(?:([A-Z_][A-Z0-9_]*)=)?(\d+)$/.exec(target) ?? [];
if (!fallbackPort) {
  process.stderr.write(`healthcheck: expected [VARIABLE=]port, got ${target}\n`);
  process.exit(1);
}
const port = process.env[variable] || fallbackPort;

fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_500) })
  .then((response) => process.exit(response.ok ? 0 : 1))
  .catch(() => process.exit(1));
