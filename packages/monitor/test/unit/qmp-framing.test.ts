import { describe, expect, test } from "vitest";
import { connectQmp, LineTooLongError, QmpClosedError, QmpProtocolError } from "../../src/index.js";
import { connected, FakePeer, GREETING } from "../helpers/fake-qmp-peer.js";

describe("QMP framing over an in-memory stream", () => {
  test("reads a greeting delivered one byte at a time", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    const bytes = Buffer.from(`${JSON.stringify(GREETING)}\r\n`);
    for (let i = 0; i < bytes.length; i++) peer.send(bytes.subarray(i, i + 1));
    const negotiate = await peer.nextRequest();
    expect(negotiate.execute).toBe("qmp_capabilities");
    peer.reply(negotiate.id);
    const client = await connecting;
    expect(client.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(client.capabilities).toEqual(["oob"]);
    client.destroy();
  });

  test("decodes a reply whose multi-byte characters are split across chunks", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("qom-get", { path: "/x", property: "name" });
    const { id } = await peer.nextRequest();
    const bytes = Buffer.from(`{"return": "é—😀", "id": ${id}}\r\n`, "utf8");
    const emoji = bytes.indexOf(Buffer.from("😀"));
    // Cut inside the 2-byte é, the 3-byte em dash and the 4-byte emoji.
    const cuts = [bytes.indexOf(0xc3) + 1, emoji - 2, emoji + 1, emoji + 3];
    let start = 0;
    for (const cut of cuts) {
      peer.send(bytes.subarray(start, cut));
      start = cut;
    }
    peer.send(bytes.subarray(start));
    await expect(pending).resolves.toBe("é—😀");
    client.destroy();
  });

  test("handles several messages in one chunk, events and replies mixed", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.sendMessage(GREETING);
    const negotiate = await peer.nextRequest();
    // The negotiation reply and an event arrive together: the subscriber created
    // right after connectQmp resolves must still get the event.
    peer.send(
      `{"return": {}, "id": ${negotiate.id}}\r\n{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 0}}\r\n`,
    );
    const client = await connecting;
    const events = client.events();
    const a = client.execute("query-name");
    const b = client.execute("query-status");
    const [ra, rb] = [await peer.nextRequest(), await peer.nextRequest()];
    peer.send(
      `{"return": {"status": "paused"}, "id": ${rb.id}}\r\n{"event": "STOP", "timestamp": {"seconds": 2, "microseconds": 0}}\r\n{"return": {"name": "vm"}, "id": ${ra.id}}\r\n`,
    );
    await expect(a).resolves.toEqual({ name: "vm" });
    await expect(b).resolves.toEqual({ status: "paused" });
    expect((await events.next()).value).toMatchObject({ event: "RESUME", data: {} });
    expect((await events.next()).value).toMatchObject({ event: "STOP" });
    client.destroy();
  });

  test("an event that came with the negotiation reply is delivered even if QEMU hangs up at once", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.sendMessage(GREETING);
    const negotiate = await peer.nextRequest();
    peer.send(
      `{"return": {}, "id": ${negotiate.id}}\r\n{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n`,
    );
    peer.hangUp();
    const client = await connecting;
    // The session holds the end back until the lines received before it are handled.
    expect(client.isClosed).toBe(false);
    const events = client.events();
    expect((await events.next()).value).toMatchObject({
      event: "SHUTDOWN",
      data: { guest: false },
    });
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(await client.closed).toEqual({ by: "peer" });
  });

  test("tolerates events before the greeting (they are dropped)", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.send(
      `{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 0}}\r\n${JSON.stringify(GREETING)}\r\n`,
    );
    const negotiate = await peer.nextRequest();
    peer.reply(negotiate.id);
    const client = await connecting;
    expect(client.version.qemu.major).toBe(7);
    client.destroy();
  });

  test("drops a reply for an unknown id and keeps going", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("query-name");
    const { id } = await peer.nextRequest();
    peer.reply(id + 1000, { name: "stray" });
    peer.reply(id, { name: "mine" });
    await expect(pending).resolves.toEqual({ name: "mine" });
    expect(client.isClosed).toBe(false);
    client.destroy();
  });

  test("destroys the connection on a malformed line: every pending call rejects", async () => {
    const { client, peer } = await connected();
    const first = client.execute("query-name");
    const second = client.execute("query-status");
    const wait = client.waitForEvent("STOP");
    await peer.nextRequest();
    peer.send('{"return": {}, "id": 1\r\n');
    for (const pending of [first, second, wait]) {
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QmpClosedError);
      expect((error as QmpClosedError).code).toBe("ERR_QMP_CLOSED");
      expect((error as Error).cause).toBeInstanceOf(QmpProtocolError);
    }
    const info = await client.closed;
    expect(info.by).toBe("error");
    expect(info.error).toMatchObject({ code: "ERR_QMP_PROTOCOL", line: '{"return": {}, "id": 1' });
    expect(peer.destroyed).toBe(true);
    await expect(client.execute("query-name")).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
  });

  test("treats a JSON value that is not an object as a protocol error", async () => {
    const { client, peer } = await connected();
    peer.send("[1,2]\r\n");
    expect((await client.closed).error).toMatchObject({ code: "ERR_QMP_PROTOCOL" });
  });

  test("treats an error reply without an id as a protocol error (ids can no longer be trusted)", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("query-name");
    await peer.nextRequest();
    peer.sendMessage({
      error: { class: "GenericError", desc: "JSON parse error, expecting value" },
    });
    const error = await pending.catch((e: unknown) => e);
    expect((error as Error).cause).toMatchObject({
      code: "ERR_QMP_PROTOCOL",
      message: expect.stringContaining("JSON parse error"),
    });
  });

  test("says so when pointed at an HMP socket", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.send("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ");
    await expect(connecting).rejects.toMatchObject({
      code: "ERR_QMP_PROTOCOL",
      message: expect.stringContaining("connectHmp"),
    });
    expect(peer.destroyed).toBe(true);
  });

  test("parses a multi-megabyte reply delivered in small chunks", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("query-qmp-schema");
    const { id } = await peer.nextRequest();
    const schema = Array.from({ length: 40_000 }, (_, i) => ({
      name: `entry-${i}`,
      "meta-type": "object",
    }));
    const bytes = Buffer.from(`${JSON.stringify({ return: schema, id })}\r\n`);
    expect(bytes.length).toBeGreaterThan(1_500_000);
    for (let offset = 0; offset < bytes.length; offset += 4096)
      peer.send(bytes.subarray(offset, offset + 4096));
    const reply = await pending;
    expect(reply).toHaveLength(40_000);
    expect(reply[39_999]!.name).toBe("entry-39999");
    client.destroy();
  });

  test("reads a reply of 8 MiB in 64 KiB chunks (far below the default line cap)", async () => {
    const { client, peer } = await connected();
    const pending = client.executeUnchecked<string>("qom-get", { path: "/big", property: "blob" });
    const { id } = await peer.nextRequest();
    const blob = "x".repeat(8 * 1024 * 1024);
    const bytes = Buffer.from(`{"return": "${blob}", "id": ${id}}\r\n`);
    for (let offset = 0; offset < bytes.length; offset += 65536)
      peer.send(bytes.subarray(offset, offset + 65536));
    expect((await pending).length).toBe(blob.length);
    client.destroy();
  });
});

describe("the line cap (maxLineBytes)", () => {
  test("a line of exactly maxLineBytes passes; one byte more destroys the connection", async () => {
    // (The greeting, about 130 bytes, must fit.)
    const { client, peer } = await connected({ maxLineBytes: 256 });
    const ok = client.execute("query-name");
    const first = await peer.nextRequest();
    const exact = `{"return": {"name": "${"a".repeat(256 - 32 - String(first.id).length)}"}, "id": ${first.id}}`;
    expect(Buffer.byteLength(exact)).toBe(256);
    peer.send(`${exact}\r\n`);
    await expect(ok).resolves.toMatchObject({ name: expect.any(String) });
    const tooLong = client.execute("query-name");
    const second = await peer.nextRequest();
    peer.send(`{"return": {"name": "${"a".repeat(256)}"}, "id": ${second.id}}\r\n`);
    const error = await tooLong.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_QMP_CLOSED" });
    const protocol = (error as Error).cause as QmpProtocolError;
    expect(protocol).toBeInstanceOf(QmpProtocolError);
    expect(protocol.code).toBe("ERR_QMP_PROTOCOL");
    expect(protocol.cause).toBeInstanceOf(LineTooLongError);
    expect(protocol.cause).toMatchObject({ code: "ERR_LINE_TOO_LONG", maxLineBytes: 256 });
    expect(await client.closed).toEqual({ by: "error", error: protocol });
  });

  test("a peer that sends 64 MiB without a newline: read up to the default 16 MiB cap, then cut off", async () => {
    const { client, peer } = await connected();
    const calls = [client.execute("query-status"), client.execute("query-name")];
    const wait = client.waitForEvent("STOP");
    const settled = Promise.allSettled([...calls, wait]);
    await peer.nextRequest();
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    while (sent < 64 * 1024 * 1024 && !peer.destroyed) {
      peer.send(chunk);
      sent += chunk.length;
      // Let the client read what was pushed, as a socket would between reads.
      if (sent % (1024 * 1024) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // The client stopped reading at the cap: it destroyed the stream, the peer could send no more.
    expect(peer.destroyed).toBe(true);
    expect(sent).toBeLessThanOrEqual(16 * 1024 * 1024 + 1024 * 1024);
    expect(sent).toBeGreaterThan(16 * 1024 * 1024);
    for (const result of await settled) {
      const error = (result as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(QmpClosedError);
      expect((error as Error).cause).toMatchObject({
        code: "ERR_QMP_PROTOCOL",
        cause: { code: "ERR_LINE_TOO_LONG", maxLineBytes: 16 * 1024 * 1024 },
      });
    }
    const info = await client.closed;
    expect(info.by).toBe("error");
    expect((info.error as QmpProtocolError).line).toMatch(/^x{200}…$/);
  });

  test("connect rejects with ERR_QMP_PROTOCOL when the greeting is longer than the cap", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer, { maxLineBytes: 1024 });
    peer.send(Buffer.alloc(4096, "{"));
    const error = await connecting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpProtocolError);
    expect((error as Error).cause).toBeInstanceOf(LineTooLongError);
    expect(peer.destroyed).toBe(true);
  });
});
