import { createServer, type Socket } from 'node:net';

/** A TCP server that accepts connections and never answers: a hung peer (frozen server, black-holed network). */
export interface SilentServer {
  port: number;
  address: string;
  close(): Promise<void>;
}

/** Starts a silent server on a free loopback port; `close()` drops its connections and stops it. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    address: `127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
