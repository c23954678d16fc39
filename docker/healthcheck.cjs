// Container health check without curl or wget in the image: GET http://127.0.0.1:<port><path> and exit
// 0 on a 2xx, 1 otherwise. Usage: node docker/healthcheck.cjs <path> <default port>; HTTP_PORT wins
// over the default, so a container started with another HTTP_PORT is still checked on the right port.
/* global AbortSignal */
const [path = '/healthz', fallbackPort = '8080'] = process.argv.slice(2);
const port = process.env.HTTP_PORT || fallbackPort;

fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_500) })
  .then((response) => process.exit(response.ok ? 0 : 1))
  .catch(() => process.exit(1));
