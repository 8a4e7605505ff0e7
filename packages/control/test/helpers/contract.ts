import { expect } from "vitest";
import type { ControlChannel } from "../../src/index.js";

/** The name of the test that runs {@link controlChannelContract}. */
export const CONTRACT =
  "ControlChannel: ready, exit codes 0, 1 and 127, output in order, network with 10.0.2.15";

/**
 * The same checks through the `ControlChannel` interface alone, whatever the
 * channel: what the facade and test suites rely on when they switch channels.
 * Each file runs it in a test of its own (vitest reads the fixtures a test
 * uses from that test's own parameter list).
 */
export async function controlChannelContract(control: ControlChannel): Promise<void> {
  await control.ready({ timeoutMs: 120_000 });
  await control.ready(); // idempotent
  expect(await control.run("true")).toMatchObject({
    exitCode: 0,
    output: "",
    outputTruncated: false,
  });
  expect(await control.run("false")).toMatchObject({ exitCode: 1, output: "" });
  const missing = await control.run("no-such-command-qk");
  expect(missing.exitCode).toBe(127);
  expect(missing.output).toContain("no-such-command-qk");
  // A subshell: on the console, `exit` in the command itself would end the login shell.
  expect(await control.run("(echo out; echo err >&2; exit 3)")).toMatchObject({
    exitCode: 3,
    output: "out\nerr\n",
  });
  const killed = await control.run("sh -c 'kill -9 $$'");
  expect(killed.exitCode).toBe(137);
  // A signal is a name, or null (the shell that ran it exited normally with 128 + 9).
  expect([null, "SIGKILL"]).toContain(killed.signal);
  const interfaces = await control.waitForNetwork({ address: "10.0.2.15", timeoutMs: 60_000 });
  const eth0 = interfaces.find((item) => item.name === "eth0");
  expect(eth0?.addresses).toContainEqual({
    family: "ipv4",
    address: "10.0.2.15",
    prefixLength: 24,
  });
  expect(eth0?.macAddress).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  expect(interfaces.find((item) => item.name === "lo")?.addresses).toContainEqual({
    family: "ipv4",
    address: "127.0.0.1",
    prefixLength: 8,
  });
}
