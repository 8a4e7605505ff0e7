/** Ports for tests: blocks nobody uses, and sockets that hold ports the way other programs do. */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";

/** Whether `port` can be bound on 127.0.0.1 (TCP) and 0.0.0.0 (UDP) right now. */
async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  const tcp = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => resolve(true));
  });
  if (tcp) await new Promise((resolve) => server.close(resolve));
  if (!tcp) return false;
  const udp = createSocket("udp4");
  const ok = await new Promise<boolean>((resolve) => {
    udp.once("error", () => resolve(false));
    udp.bind(port, "0.0.0.0", () => resolve(true));
  });
  udp.close();
  return ok;
}

/**
 * A block of `size` ports (below the ephemeral range) nothing uses now, so tests
 * can tell exactly which port the pool must pick. Other engineers' VMs run on
 * this machine: the default ranges (6000…) are not used by tests.
 */
export async function freePortBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100;
    let free = true;
    for (let port = base; port < base + size && free; port++) free = await bindable(port);
    if (free) return base;
  }
  throw new Error("no free port block found");
}

/** Things bound on ports for a test; `closeAll()` when it ends (the `pools` fixture does). */
export class Listeners {
  readonly #servers: Server[] = [];
  readonly #udp: UdpSocket[] = [];
  readonly #sockets: Socket[] = [];

  async tcp(port: number, address = "127.0.0.1"): Promise<Server> {
    const server = createServer((socket) => {
      this.#sockets.push(socket);
      socket.resume();
    });
    this.#servers.push(server);
    server.listen(port, address);
    await once(server, "listening");
    return server;
  }

  async udp(
    port: number,
    type: "udp4" | "udp6" = "udp4",
    address = type === "udp4" ? "0.0.0.0" : "::1",
  ): Promise<void> {
    const socket = createSocket(type);
    this.#udp.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, address, () => resolve());
    });
  }

  /** A TCP connection whose local end is bound to `localPort` (connected, not listening). */
  async connectedFrom(localPort: number, server: Server): Promise<void> {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    const socket = new Socket();
    this.#sockets.push(socket);
    socket.connect({ port: address.port, host: "127.0.0.1", localPort, localAddress: "127.0.0.1" });
    await once(socket, "connect");
  }

  async closeAll(): Promise<void> {
    for (const socket of this.#sockets.splice(0)) socket.destroy();
    for (const socket of this.#udp.splice(0)) socket.close();
    await Promise.all(
      this.#servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
    );
  }
}
