import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Express } from 'express';

const inFlight = new WeakMap<Server, Set<ServerResponse>>();

/**
 * Starts an HTTP server and resolves with its bound port (0 picks a free one). A taken port becomes
 * an error naming the env variable, instead of an unhandled 'error' event.
 */
export function listen(app: Express, host: string, port: number, envName = 'HTTP_PORT'): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    const active = new Set<ServerResponse>();
    inFlight.set(server, active);
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      active.add(res);
      res.once('close', () => active.delete(res));
    });
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new Error(`${envName} ${port} is already in use on ${host}`));
      else if (error.code === 'EACCES') reject(new Error(`${envName} ${port} needs privileges this process does not have`));
      else reject(error);
    });
    server.once('listening', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}

/**
 * Stops accepting connections and waits for open requests to finish. Idle keep-alive sockets close at
 * once; requests in flight (and any that still arrive on their sockets) are answered with
 * `Connection: close`, so each socket closes after its last answer instead of being cut mid-request.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const closeAfterAnswer = (res: ServerResponse) => void (res.headersSent || res.setHeader('Connection', 'close'));
    for (const res of inFlight.get(server) ?? []) closeAfterAnswer(res);
    // Before the app's own listener, which may answer synchronously.
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => closeAfterAnswer(res));
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
