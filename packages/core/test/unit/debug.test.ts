import { execFile } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { debugLog, OperationChannel, type OperationMessage } from "../../src/index.js";

const run = promisify(execFile);
const source = fileURLToPath(new URL("../../src/debug.ts", import.meta.url));

/** Runs a child Node with NODE_DEBUG set (util.debuglog reads it at start) and returns its stderr. */
async function debugOutput(nodeDebug: string): Promise<string> {
  const script = `
    const { debugLog } = await import(${JSON.stringify(source)});
    const host = debugLog("host"), pool = debugLog("pool");
    host("exec %s", "true"); pool("lease %d", 7);
    console.log(JSON.stringify([host.enabled, pool.enabled]));`;
  const { stdout, stderr } = await run(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { env: { ...process.env, NODE_DEBUG: nodeDebug } },
  );
  return `${stdout.trim()}\n${stderr}`;
}

test("NODE_DEBUG=qemu-kvm switches every section on, a section name only that one", async () => {
  const all = await debugOutput("qemu-kvm");
  expect(all).toMatch(/^\[true,true\]/);
  expect(all).toMatch(/QEMU-KVM \d+: host: exec true/);
  expect(all).toMatch(/QEMU-KVM \d+: pool: lease 7/);
  const one = await debugOutput("qemu-kvm:pool");
  expect(one).toMatch(/^\[false,true\]/);
  expect(one).toMatch(/QEMU-KVM:POOL \d+: lease 7/);
  expect(one).not.toMatch(/exec true/);
  const none = await debugOutput("other");
  expect(none.trim()).toBe("[false,false]");
});

test("debug output is off by default", () => {
  expect(debugLog("core").enabled).toBe(process.env.NODE_DEBUG?.includes("qemu-kvm") ?? false);
});

test("an operation channel publishes start and end (or error) with one id, only when listened to", async () => {
  const operations = new OperationChannel("monitor");
  const seen: OperationMessage[] = [];
  const listener = (message: unknown) => seen.push(message as OperationMessage);
  await operations.trace("qmp", "query-status", async () => 1);
  expect(seen).toEqual([]);
  subscribe("qemu-kvm:monitor", listener);
  try {
    await operations.trace("qmp", "query-status", async () => 1);
    const failure = new Error("no");
    await expect(operations.trace("qmp", "quit", async () => Promise.reject(failure))).rejects.toBe(
      failure,
    );
  } finally {
    unsubscribe("qemu-kvm:monitor", listener);
  }
  expect(seen.map((m) => [m.phase, m.target])).toEqual([
    ["start", "query-status"],
    ["end", "query-status"],
    ["start", "quit"],
    ["error", "quit"],
  ]);
  expect(seen[0]!.id).toBe(seen[1]!.id);
  expect(seen[2]!.id).not.toBe(seen[0]!.id);
  expect(seen[3]).toMatchObject({ source: "monitor", operation: "qmp", error: expect.any(Error) });
  expect(seen[1]!.durationMs).toBeGreaterThanOrEqual(0);
});
