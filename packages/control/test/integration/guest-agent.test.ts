import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { type LaunchedGuest, launchGuest } from "@qemu-kvm/test-guest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectGuestAgent, type GuestAgentClient } from "../../src/index.js";
import { rejection } from "../rejection.js";
import { controlChannelContract } from "./contract.js";
import { BOOT_TIMEOUT_MS, testGuest } from "./fixtures.js";

/**
 * One guest for the file, with its agent socket. The agent is connected while
 * the guest boots (the first sync waits for qemu-ga to start). The last test
 * shuts the guest down.
 */
let vm: LaunchedGuest;
let socket: Socket;
let agent: GuestAgentClient;

beforeAll(async () => {
  vm = await launchGuest(await testGuest(), { guestAgent: true, timeoutMs: BOOT_TIMEOUT_MS });
  socket = createConnection(vm.guestAgentPath!);
  await once(socket, "connect");
  agent = await connectGuestAgent(socket, { timeoutMs: BOOT_TIMEOUT_MS });
});

afterAll(async () => {
  agent?.destroy();
  await vm?.stop();
});

describe("guest agent (real guest, qemu-ga 7.2)", () => {
  it("pings, and tells its version", async () => {
    await agent.ping();
    const info = await agent.info();
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(info.commands).toContainEqual({
      name: "guest-shutdown",
      enabled: true,
      successResponse: false,
    });
  });

  controlChannelContract(async () => agent);

  it("execs with arguments, environment and stdin; captures stdout, stderr and the exit code", async () => {
    const input = Buffer.concat([
      Buffer.from("line one\n"),
      randomBytes(1000),
      Buffer.from([0xff, 0]),
    ]);
    const result = await agent.exec(
      "/bin/sh",
      ["-c", 'cat; printf "%s|%s" "$1" "$QK_VAR" >&2; exit 42', "sh", "arg with 'quotes' $(and) ;"],
      { input, env: ["QK_VAR=from env", "PATH=/bin:/usr/bin"] },
    );
    expect(result.exitCode).toBe(42);
    expect(result.signal).toBeNull();
    expect(result.stdout.equals(input)).toBe(true);
    expect(result.stderr.toString()).toBe("arg with 'quotes' $(and) ;|from env");
    expect(result).toMatchObject({ stdoutTruncated: false, stderrTruncated: false });
    const killed = await agent.exec("/bin/sh", ["-c", "kill -9 $$"]);
    expect(killed).toMatchObject({ exitCode: null, signal: 9 });
    const missing = await rejection(agent.exec("/no/such/program"));
    expect(missing).toMatchObject({ code: "ERR_QGA_COMMAND", errorClass: "GenericError" });
  });

  it("writes a 1 MB binary file and reads it back byte for byte", async () => {
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

  it("lists network interfaces with 10.0.2.15, and os info", async () => {
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

  it("kills a command that times out, with its children, and goes on", async () => {
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

  it("gets back in step after garbage was written to the channel", async () => {
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

  it("shuts the guest down: the call resolves, the channel closes, QEMU exits", async () => {
    await agent.shutdown("powerdown");
    expect(await agent.closed).toEqual({ by: "peer" });
    expect(await vm.exited).toEqual({ code: 0, signal: null });
    expect((await rejection(agent.ping())).code).toBe("ERR_QGA_CLOSED");
  });
});
