import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { afterAll, describe, expect } from "vitest";
import { connectGuestAgent, type GuestAgentClient } from "../../src/index.js";
import { CONTRACT, controlChannelContract } from "../helpers/contract.js";
import {
  BOOT_TIMEOUT_MS,
  connectAgentSocket,
  FIRST_TEST_TIMEOUT_MS,
  test,
} from "../helpers/guests.js";
import { rejection } from "../helpers/rejection.js";

/**
 * One guest for the file (the `agentGuest` fixture), with its agent socket.
 * The agent is connected while the guest boots (the first sync waits for
 * qemu-ga to start). The last test shuts the guest down.
 */
let connection: { socket: Socket; agent: GuestAgentClient } | undefined;

/** The file's agent client, connected on first use. */
async function connected(vm: Parameters<typeof connectAgentSocket>[0]) {
  if (!connection) {
    const socket = await connectAgentSocket(vm);
    const agent = await connectGuestAgent(socket, { timeoutMs: BOOT_TIMEOUT_MS });
    connection = { socket, agent };
  }
  return connection;
}

afterAll(() => {
  connection?.agent.destroy();
});

describe("guest agent (real guest, qemu-ga 7.2)", { timeout: FIRST_TEST_TIMEOUT_MS }, () => {
  test("pings, and tells its version", async ({ agentGuest }) => {
    const { agent } = await connected(agentGuest);
    await agent.ping();
    const info = await agent.info();
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(info.commands).toContainEqual({
      name: "guest-shutdown",
      enabled: true,
      successResponse: false,
    });
  });

  test(CONTRACT, async ({ agentGuest }) => {
    await controlChannelContract((await connected(agentGuest)).agent);
  });

  test("execs with arguments, environment and stdin; captures stdout, stderr and the exit code", async ({
    agentGuest,
  }) => {
    const { agent } = await connected(agentGuest);
    const input = Buffer.concat([
      Buffer.from("line one\n"),
      randomBytes(1000),
      Buffer.from([0xff, 0]),
    ]);
    const result = await agent.exec(
      "/bin/sh",
      ["-c", 'cat; printf "%s|%s" "$1" "$QK_VAR" >&2; exit 42', "sh", "arg with 'quotes' $(and) ;"],
      { input, env: { QK_VAR: "from env", PATH: "/bin:/usr/bin" } },
    );
    expect(result.exitCode).toBe(42);
    expect(result.signal).toBeNull();
    expect(result.stdout.equals(input)).toBe(true);
    expect(result.stderr.toString()).toBe("arg with 'quotes' $(and) ;|from env");
    expect(result).toMatchObject({ stdoutTruncated: false, stderrTruncated: false });
    const killed = await agent.exec("/bin/sh", ["-c", "kill -9 $$"]);
    expect(killed).toMatchObject({ exitCode: null, signal: "SIGKILL" });
    const missing = await rejection(agent.exec("/no/such/program"));
    expect(missing).toMatchObject({ code: "ERR_QGA_COMMAND", errorClass: "GenericError" });
  });

  test("writes a 1 MB binary file and reads it back byte for byte", async ({ agentGuest }) => {
    const { agent } = await connected(agentGuest);
    const data = randomBytes(1024 * 1024);
    await agent.writeFile("/tmp/qk-blob", data, { timeoutMs: 120_000 });
    const back = await agent.readFile("/tmp/qk-blob", { timeoutMs: 120_000 });
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    // And the guest agrees about what it holds.
    const digest = await agent.run("md5sum /tmp/qk-blob && rm /tmp/qk-blob");
    expect(digest.output).toBe(`${createHash("md5").update(data).digest("hex")}  /tmp/qk-blob\n`);
    const absent = await rejection(agent.readFile("/tmp/qk-blob"));
    expect(absent).toMatchObject({ code: "ERR_QGA_COMMAND" });
  });

  test("lists network interfaces with 10.0.2.15, and os info", async ({ agentGuest }) => {
    const { agent } = await connected(agentGuest);
    const interfaces = await agent.waitForNetwork({ address: "10.0.2.15", timeoutMs: 60_000 });
    expect(interfaces.find((item) => item.name === "eth0")).toMatchObject({
      macAddress: expect.stringMatching(/^52:54:00/),
      addresses: expect.arrayContaining([
        { family: "ipv4", address: "10.0.2.15", prefixLength: 24 },
      ]),
    });
    const os = await agent.osInfo();
    expect(os.kernelRelease).toMatch(/^6\.1\./);
    expect(os.machine).toBe("x86_64");
  });

  test("kills a command that times out, with its children, and goes on", async ({ agentGuest }) => {
    const { agent } = await connected(agentGuest);
    const error = await rejection(
      agent.run("sleep 100002 & sleep 100003; wait", { timeoutMs: 3_000 }),
    );
    expect(error.code).toBe("ERR_TIMEOUT");
    // The kill runs behind the scenes; ask until it shows (it is quick).
    let left = "";
    for (let attempt = 0; attempt < 50; attempt++) {
      left = (await agent.run("ps -o args | grep -c -E '^sleep 10000[23]$'")).output;
      if (left === "0\n") break;
    }
    expect(left).toBe("0\n");
  });

  test("gets back in step after garbage was written to the channel", async ({ agentGuest }) => {
    const { agent, socket } = await connected(agentGuest);
    socket.write("}}garbage that is not JSON\n"); // the agent answers with errors
    await agent.ping();
    socket.write('{"execute": "guest-ping", "arguments": {"x": '); // unclosed: swallows what follows
    expect(await agent.run("echo still here")).toMatchObject({
      exitCode: 0,
      output: "still here\n",
    });
    await agent.sync();
    await agent.ping();
  });

  test("shuts the guest down: the call resolves, the channel closes, QEMU exits", async ({
    agentGuest,
  }) => {
    const vm = agentGuest;
    const { agent } = await connected(agentGuest);
    await agent.shutdown("powerdown");
    expect(await agent.closed).toEqual({ by: "peer" });
    expect(await vm.exited).toEqual({ code: 0, signal: null });
    expect((await rejection(agent.ping())).code).toBe("ERR_QGA_CLOSED");
  });
});
