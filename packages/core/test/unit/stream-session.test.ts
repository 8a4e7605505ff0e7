import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, test, vi } from "vitest";
import { type CloseInfo, StreamSession } from "../../src/index.js";

/** A real TCP connection on loopback: our end and the peer's. */
async function socketPair(): Promise<{ ours: Socket; peer: Socket; server: Server }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address() as { port: number };
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const ours = connect(address.port, "127.0.0.1");
  await once(ours, "connect");
  const [peer] = await accepted;
  servers.push(server);
  sockets.push(ours, peer);
  return { ours, peer, server };
}

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

function session(stream: Socket) {
  const received: string[] = [];
  const ended = vi.fn<(info: CloseInfo) => void>();
  const s = new StreamSession(
    stream,
    { data: (chunk) => received.push(chunk.toString()), ended },
    { label: "test" },
  );
  return { session: s, received, ended };
}

describe("StreamSession", () => {
  test("delivers data, and ends by the peer when the peer ends the stream", async () => {
    const { ours, peer } = await socketPair();
    const { session: s, received, ended } = session(ours);
    peer.end("hello");
    const info = await s.closed;
    expect(info).toEqual({ by: "peer" });
    expect(received.join("")).toBe("hello");
    expect(ended).toHaveBeenCalledOnce();
    expect(ours.destroyed).toBe(true);
  });

  test("a connection reset by the peer is the peer going away, with the reset as error", async () => {
    const { ours, peer } = await socketPair();
    const { session: s } = session(ours);
    peer.resetAndDestroy();
    const info = await s.closed;
    expect(info.by).toBe("peer");
    expect((info.error as NodeJS.ErrnoException | undefined)?.code).toBe("ECONNRESET");
  });

  test("destroy(reason) ends it by error at once; destroy() by the client", async () => {
    const first = session((await socketPair()).ours);
    const reason = new Error("protocol");
    first.session.destroy(reason);
    expect(first.session.isClosed).toBe(true);
    expect(await first.session.closed).toEqual({ by: "error", error: reason });
    const second = session((await socketPair()).ours);
    second.session.destroy();
    expect(await second.session.closed).toEqual({ by: "client" });
  });

  test("close() waits for the client's pending work, once, and ends exactly once", async () => {
    const { ours } = await socketPair();
    const { session: s, ended } = session(ours);
    let finishWork!: () => void;
    const idle = new Promise<void>((resolve) => (finishWork = resolve));
    const whenIdle = vi.fn(() => idle);
    const first = s.close(whenIdle);
    const second = s.close(whenIdle);
    expect(s.isClosing).toBe(true);
    expect(s.isClosed).toBe(false);
    finishWork();
    await Promise.all([first, second]);
    expect(whenIdle).toHaveBeenCalledOnce();
    expect(ended).toHaveBeenCalledOnce();
    expect(s.closeInfo).toEqual({ by: "client" });
    expect(s.write("late")).toBe(false);
  });

  test("hold() keeps a peer end back until release()", async () => {
    const { ours, peer } = await socketPair();
    const { session: s, received } = session(ours);
    s.hold();
    peer.end("last words");
    await once(ours, "end");
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.isClosed).toBe(false);
    expect(received.join("")).toBe("last words");
    s.release();
    expect(await s.closed).toEqual({ by: "peer" });
  });

  test("a stream that is already closed ends the session at once", async () => {
    const { ours } = await socketPair();
    ours.destroy();
    const { session: s } = session(ours);
    const info = await s.closed;
    expect(info.by).toBe("peer");
    expect(info.error?.message).toBe("the stream was already closed");
  });
});
