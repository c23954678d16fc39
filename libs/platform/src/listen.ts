import type { Server } from 'node:http';
import type { Express } from 'express';

/**
 * Starts an HTTP server and resolves with its bound port (0 picks a free one). A taken port becomes
 * an error naming the env variable, instead of an unhandled 'error' event.
 */
export function listen(app: Express, host: string, port: number, envName = 'HTTP_PORT'): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
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

/** Stops accepting connections and waits for open requests to finish (idle keep-alive sockets close at once). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
