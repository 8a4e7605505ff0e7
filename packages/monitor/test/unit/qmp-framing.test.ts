import { describe, expect, it } from "vitest";
import { connectQmp, QmpClosedError, QmpProtocolError } from "../../src/index.js";
import { LineReader } from "../../src/line-reader.js";
import { connected, FakePeer, GREETING } from "./fake-peer.js";

function lines(reader: LineReader): string[] {
  const out: string[] = [];
  for (let line = reader.next(); line !== undefined; line = reader.next()) out.push(line);
  return out;
}

describe("LineReader", () => {
  it("joins a line split across many chunks and strips CRLF", () => {
    const reader = new LineReader();
    for (const part of ['{"a":', "1", "}\r", "\n"]) reader.push(Buffer.from(part));
    // Only the last push completes the line: everything before stays pending.
    expect(lines(reader)).toEqual(['{"a":1}']);
    expect(reader.pendingBytes).toBe(0);
  });

  it("decodes a multi-byte character split between chunks", () => {
    const bytes = Buffer.from("é😀\n", "utf8");
    for (let cut = 1; cut < bytes.length - 1; cut++) {
      const reader = new LineReader();
      reader.push(bytes.subarray(0, cut));
      expect(reader.next()).toBeUndefined();
      reader.push(bytes.subarray(cut));
      expect(reader.next()).toBe("é😀");
    }
  });

  it("returns several lines from one chunk, keeping the incomplete tail", () => {
    const reader = new LineReader();
    reader.push(Buffer.from("one\r\ntwo\nthr"));
    expect(lines(reader)).toEqual(["one", "two"]);
    reader.push(Buffer.from("ee\n"));
    expect(lines(reader)).toEqual(["three"]);
  });

  it("keeps unread lines in order when a consumer stops mid-chunk", () => {
    const reader = new LineReader();
    reader.push(Buffer.from("a\nb\nc"));
    expect(reader.next()).toBe("a");
    reader.push(Buffer.from("\nd\n"));
    expect(lines(reader)).toEqual(["b", "c", "d"]);
  });

  it("has no line-length limit (8 MiB in 64 KiB chunks)", () => {
    const reader = new LineReader();
    const big = Buffer.alloc(8 * 1024 * 1024, "x");
    for (let offset = 0; offset < big.length; offset += 65536)
      reader.push(big.subarray(offset, offset + 65536));
    expect(reader.next()).toBeUndefined();
    expect(reader.pendingBytes).toBe(big.length);
    reader.push(Buffer.from("\n"));
    expect(reader.next()?.length).toBe(big.length);
  });
});

describe("QMP framing over an in-memory stream", () => {
  it("reads a greeting delivered one byte at a time", async () => {
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

  it("decodes a reply whose multi-byte characters are split across chunks", async () => {
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

  it("handles several messages in one chunk, events and replies mixed", async () => {
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

  it("tolerates events before the greeting (they are dropped)", async () => {
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

  it("drops a reply for an unknown id and keeps going", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("query-name");
    const { id } = await peer.nextRequest();
    peer.reply(id + 1000, { name: "stray" });
    peer.reply(id, { name: "mine" });
    await expect(pending).resolves.toEqual({ name: "mine" });
    expect(client.isClosed).toBe(false);
    client.destroy();
  });

  it("destroys the connection on a malformed line: every pending call rejects", async () => {
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

  it("treats a JSON value that is not an object as a protocol error", async () => {
    const { client, peer } = await connected();
    peer.send("[1,2]\r\n");
    expect((await client.closed).error).toMatchObject({ code: "ERR_QMP_PROTOCOL" });
  });

  it("treats an error reply without an id as a protocol error (ids can no longer be trusted)", async () => {
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

  it("says so when pointed at an HMP socket", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.send("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ");
    await expect(connecting).rejects.toMatchObject({
      code: "ERR_QMP_PROTOCOL",
      message: expect.stringContaining("connectHmp"),
    });
    expect(peer.destroyed).toBe(true);
  });

  it("parses a multi-megabyte reply delivered in small chunks", async () => {
    const { client, peer } = await connected();
    const pending = client.execute<{ name: string }[]>("query-qmp-schema");
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
});
