import { describe, expect, test } from "vitest";
import {
  connectQmp,
  QmpSchema,
  QmpUnknownArgumentError,
  QmpUnknownCommandError,
} from "../../src/index.js";
import { connected, FakePeer } from "../helpers/fake-qmp-peer.js";

/** A tiny schema in QEMU's introspection format. */
const SCHEMA = [
  { name: "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "1" },
  { name: "qom-get", "meta-type": "command", "arg-type": "2", "ret-type": "any" },
  { name: "blockdev-add", "meta-type": "command", "arg-type": "3", "ret-type": "0" },
  { name: "device_add", "meta-type": "command", "arg-type": "6", "ret-type": "0" },
  { name: "STOP", "meta-type": "event", "arg-type": "0" },
  { name: "0", "meta-type": "object", members: [] },
  { name: "1", "meta-type": "object", members: [{ name: "running", type: "bool" }] },
  {
    name: "2",
    "meta-type": "object",
    members: [
      { name: "path", type: "str" },
      { name: "property", type: "str" },
    ],
  },
  {
    name: "3",
    "meta-type": "object",
    tag: "driver",
    members: [
      { name: "driver", type: "str" },
      { name: "node-name", type: "str", default: null },
    ],
    variants: [
      { case: "file", type: "4" },
      { case: "null-co", type: "5" },
    ],
  },
  { name: "4", "meta-type": "object", members: [{ name: "filename", type: "str" }] },
  { name: "5", "meta-type": "object", members: [{ name: "size", type: "int" }] },
  { name: "6", "meta-type": "object", members: [{ name: "driver", type: "str" }] },
];

/** Answers the schema request the client makes first. */
async function answerSchema(peer: FakePeer): Promise<void> {
  const request = await peer.nextRequest();
  expect(request.execute).toBe("query-qmp-schema");
  peer.reply(request.id, SCHEMA);
}

const commandsSent = (peer: FakePeer) =>
  peer.lines.map((line) => (JSON.parse(line) as { execute: string }).execute);

describe("strict mode", () => {
  test("fetches the schema once, on the first command, then checks each command unsent", async () => {
    const { client, peer } = await connected({ strict: true });
    expect(commandsSent(peer)).toEqual(["qmp_capabilities"]); // nothing fetched yet
    const first = client.execute("query-status");
    const second = client.executeUnchecked("no-such-command");
    await answerSchema(peer);
    const request = await peer.nextRequest();
    expect(request.execute).toBe("query-status");
    peer.reply(request.id, { running: true });
    expect(await first).toEqual({ running: true });
    const error = await second.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpUnknownCommandError);
    expect(error).toMatchObject({
      code: "ERR_QMP_UNKNOWN_COMMAND",
      command: "no-such-command",
      qemuVersion: "7.2.22",
    });
    const argument = await client
      .executeUnchecked("qom-get", { path: "/machine", property: "type", depth: 1 })
      .catch((e: unknown) => e);
    expect(argument).toBeInstanceOf(QmpUnknownArgumentError);
    expect(argument).toMatchObject({
      code: "ERR_QMP_UNKNOWN_ARGUMENT",
      command: "qom-get",
      argument: "depth",
      accepted: ["path", "property"],
    });
    expect((argument as Error).message).toContain("QEMU 7.2.22");
    expect(commandsSent(peer)).toEqual(["qmp_capabilities", "query-qmp-schema", "query-status"]);
    client.destroy();
  });

  test("flat unions: the members of the selected variant; device_add: any property", async () => {
    const { client, peer } = await connected({ strict: true });
    const loading = client.schema();
    await answerSchema(peer);
    const schema = await loading;
    expect(schema).toBeInstanceOf(QmpSchema);
    expect(schema.commandNames).toEqual(["blockdev-add", "device_add", "qom-get", "query-status"]);
    expect(schema.eventNames).toEqual(["STOP"]);
    expect(schema.argumentNames("blockdev-add", { driver: "file" })).toEqual([
      "driver",
      "filename",
      "node-name",
    ]);
    expect(schema.argumentNames("blockdev-add")).toEqual([
      "driver",
      "filename",
      "node-name",
      "size",
    ]);
    const refused = await client
      .executeUnchecked("blockdev-add", { driver: "file", filename: "/x", size: 1 })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "ERR_QMP_UNKNOWN_ARGUMENT", argument: "size" });
    const added = client.executeUnchecked("device_add", { driver: "e1000", netdev: "n0" });
    const request = await peer.nextRequest();
    expect(request).toMatchObject({ execute: "device_add", arguments: { netdev: "n0" } });
    peer.reply(request.id);
    await added;
    expect(await client.schema()).toBe(schema); // kept
    client.destroy();
  });

  test("a failed schema fetch fails the command and is not kept", async () => {
    const { client, peer } = await connected({ strict: true });
    const first = client.execute("query-status");
    const fetch = await peer.nextRequest();
    peer.sendMessage({ id: fetch.id, error: { class: "GenericError", desc: "no" } });
    expect(await first.catch((e: unknown) => e)).toMatchObject({ code: "ERR_QMP_COMMAND" });
    const second = client.execute("query-status");
    await answerSchema(peer);
    const request = await peer.nextRequest();
    peer.reply(request.id, { running: false });
    expect(await second).toEqual({ running: false });
    client.destroy();
  });

  test("off by default: an unknown command goes to QEMU", async () => {
    const { client, peer } = await connected();
    const pending = client.executeUnchecked("no-such-command");
    const request = await peer.nextRequest();
    expect(request.execute).toBe("no-such-command");
    peer.sendMessage({ id: request.id, error: { class: "CommandNotFound", desc: "no" } });
    expect(await pending.catch((e: unknown) => e)).toMatchObject({ code: "ERR_QMP_COMMAND" });
    client.destroy();
  });

  test("strict must be a boolean", () => {
    expect(() => connectQmp(new FakePeer(), { strict: "yes" as unknown as boolean })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.strict" }),
    );
  });
});
