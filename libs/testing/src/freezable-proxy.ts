import { once } from 'node:events';
import net from 'node:net';

export interface FreezableProxy {
  /** host:port to connect to instead of the target. */
  address: string;
  port: number;
  /** Stops moving bytes either way, connections kept open: a SIGSTOPped server, for this test only. */
  freeze(): void;
  /** Moves what was held and carries on (SIGCONT). */
  thaw(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy to a real server that a test can freeze and thaw, so a client meets a server that
 * accepts and stays connected but never answers, without stopping the shared server other tests use.
 */
export async function startFreezableProxy(target: { host: string; port: number }): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  // Bytes held while frozen, per destination, delivered in order on thaw.
  const held = new Map<net.Socket, Buffer[]>();
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => (frozen ? held.get(to)!.push(chunk) : to.write(chunk)));
    from.on('close', () => to.destroy());
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    held.set(socket, []);
    socket.on('close', () => (sockets.delete(socket), held.delete(socket))).on('error', () => socket.destroy());
    return socket;
  };
  const server = net.createServer((client) => {
    const upstream = track(net.connect(target.port, target.host));
    forward(track(client), upstream);
    forward(upstream, client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    port,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const [socket, chunks] of held) for (const chunk of chunks.splice(0)) socket.write(chunk);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
