/**
 * The typed API and strict mode against both live QEMUs: the system one (7.2)
 * and QEMU 10.0 (`QEMU_KVM_QEMU10_BINARY`; without it this file fails).
 */
import { once } from "node:events";
import { type QemuBuild, qemuBuilds, startQmpProcess } from "@qemu-kvm/testkit";
import { describe, expect, test } from "vitest";
import { connectQmp, QmpUnknownArgumentError, QmpUnknownCommandError } from "../../src/index.js";
import { commandsAndEventsSent } from "../helpers/sent-commands.js";

/** QEMU's own record of each request it received (its `handle_qmp_command` trace, on stderr). */
const TRACE = ["-trace", "handle_qmp_command", "-S"];
const received = (stderr: string) =>
  [...stderr.matchAll(/handle_qmp_command .* req: (\{.*\})/g)].map(
    (match) => (JSON.parse(match[1]!) as { execute: string }).execute,
  );

/** A command the other version has and this one lacks. */
const MISSING: Record<string, string> = { "7.2": "query-audiodevs", "10.0": "x-query-profile" };

/**
 * The commands QEMU received, once its trace shows `last` (stderr and the QMP
 * replies on stdout are separate pipes: a reply may be read before the trace).
 */
type Received = (last: string) => Promise<string[]>;

async function withQmp<T>(
  build: QemuBuild,
  options: { strict?: boolean },
  work: (qmp: Awaited<ReturnType<typeof connectQmp>>, receivedUpTo: Received) => Promise<T>,
): Promise<T> {
  await using qemu = await startQmpProcess(build, TRACE);
  const qmp = await connectQmp(qemu.stream, { ...options, timeoutMs: 30_000 });
  const receivedUpTo: Received = async (last) => {
    const signal = AbortSignal.timeout(10_000);
    while (!received(qemu.stderr()).includes(last)) {
      signal.throwIfAborted();
      await once(qemu.child.stderr!, "data", { signal });
    }
    return received(qemu.stderr());
  };
  try {
    return await work(qmp, receivedUpTo);
  } finally {
    qmp.destroy();
  }
}

const builds = qemuBuilds();

test("the packages' own commands and events are found in their sources", async () => {
  const { commands, events } = await commandsAndEventsSent();
  // The derivation must not silently find nothing: these are certainly sent.
  for (const command of ["query-status", "quit", "cont", "migrate", "device_del", "query-pci"])
    expect(commands).toContain(command);
  expect(events).toEqual(expect.arrayContaining(["MIGRATION", "DEVICE_DELETED"]));
  expect(commands.some((command) => command.startsWith("guest-"))).toBe(false);
});

describe.each(builds)("QEMU $version ($binary)", (build) => {
  test("every command and event the packages send exists in its live schema", async () => {
    const { commands, events } = await commandsAndEventsSent();
    await withQmp(build, {}, async (qmp) => {
      expect(`${qmp.version.qemu.major}.${qmp.version.qemu.minor}`).toBe(build.version);
      const schema = await qmp.schema();
      expect(commands.filter((command) => !schema.hasCommand(command))).toEqual([]);
      expect(events.filter((event) => !schema.hasEvent(event))).toEqual([]);
      // And the schema is what the typed API says this version has.
      expect(schema.hasCommand(MISSING[build.version]!)).toBe(false);
    });
  });

  test("strict mode rejects an unknown command and an unknown argument unsent (QEMU's trace)", async () => {
    await withQmp(build, { strict: true }, async (qmp, receivedUpTo) => {
      const version = `${qmp.version.qemu.major}.${qmp.version.qemu.minor}.${qmp.version.qemu.micro}`;
      const missing = MISSING[build.version]!;
      const command = await qmp.executeUnchecked(missing).catch((e: unknown) => e);
      expect(command).toBeInstanceOf(QmpUnknownCommandError);
      expect(command).toMatchObject({ code: "ERR_QMP_UNKNOWN_COMMAND", command: missing });
      expect((command as Error).message).toContain(`QEMU ${version}`);
      const argument = await qmp
        .executeUnchecked("qom-list", { path: "/machine", recursive: true })
        .catch((e: unknown) => e);
      expect(argument).toBeInstanceOf(QmpUnknownArgumentError);
      expect(argument).toMatchObject({
        code: "ERR_QMP_UNKNOWN_ARGUMENT",
        command: "qom-list",
        argument: "recursive",
        accepted: ["path"],
        qemuVersion: version,
      });
      // A known command with known arguments still goes through, after them.
      const listed = await qmp.execute("qom-list", { path: "/machine" });
      expect(listed.length).toBeGreaterThan(0);
      // QEMU received the negotiation, the schema request and the last command: nothing else.
      expect(await receivedUpTo("qom-list")).toEqual([
        "qmp_capabilities",
        "query-qmp-schema",
        "qom-list",
      ]);
    });
  });

  test("without strict mode the same calls reach QEMU, which refuses them itself", async () => {
    await withQmp(build, {}, async (qmp, receivedUpTo) => {
      const missing = MISSING[build.version]!;
      expect(await qmp.executeUnchecked(missing).catch((e: unknown) => e)).toMatchObject({
        code: "ERR_QMP_COMMAND",
        errorClass: "CommandNotFound",
      });
      expect(
        await qmp
          .executeUnchecked("qom-list", { path: "/machine", recursive: true })
          .catch((e: unknown) => e),
      ).toMatchObject({ code: "ERR_QMP_COMMAND", errorClass: "GenericError" });
      expect(await receivedUpTo("qom-list")).toEqual(["qmp_capabilities", missing, "qom-list"]);
    });
  });

  test("typed results match what QEMU returns", async () => {
    await withQmp(build, { strict: true }, async (qmp) => {
      const status = await qmp.execute("query-status");
      expect(status).toMatchObject({ running: false, status: "prelaunch" });
      expect("singlestep" in status).toBe(build.version === "7.2");
      expect(await qmp.queryStatus()).toEqual({
        running: false,
        status: "prelaunch",
        singlestep: false,
      });
      const version = await qmp.execute("query-version");
      expect(version).toEqual(qmp.version);
    });
  });
});
