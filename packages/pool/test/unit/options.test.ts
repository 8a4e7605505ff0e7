import { describe, expect, test } from "vitest";
import { checkCpuAsk, checkOwner, checkPortAsk } from "../../src/client/arguments.js";
import { DEFAULT_PORT_RANGES, resolveOptions } from "../../src/client/options.js";

function field(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", name: "InvalidArgumentError" });
    return (error as { field: string }).field;
  }
  throw new Error("accepted");
}

describe("options and arguments", () => {
  test("defaults: the reference's bases, a heartbeat, private files", () => {
    const options = resolveOptions({});
    expect(options.portRanges).toEqual({
      forward: { from: 6000, to: 6999 },
      serial: { from: 7000, to: 7999 },
      migration: { from: 8000, to: 8999 },
      display: { from: 5900, to: 5999 },
    });
    expect(options).toMatchObject({
      heartbeatMs: 5000,
      expirySeconds: 30,
      periodSeconds: 6,
      lockWaitSeconds: 10,
      umask: "177",
    });
    expect(resolveOptions({ heartbeat: false })).toMatchObject({
      heartbeatMs: 0,
      expirySeconds: 0,
    });
    expect(resolveOptions({ fileMode: 0o660 }).umask).toBe("117");
    expect(resolveOptions({ cpus: "2-3,6" }).cpus).toEqual([2, 3, 6]);
    expect(resolveOptions({ ports: { ssh: { from: 2200, to: 2299 } } }).portRanges.ssh).toEqual({
      from: 2200,
      to: 2299,
    });
  });

  test("invalid options are refused synchronously, naming the field", () => {
    expect(field(() => resolveOptions({ stateDir: "relative" }))).toBe("options.stateDir");
    expect(field(() => resolveOptions({ ports: { forward: { from: 7000, to: 6000 } } }))).toBe(
      "options.ports.forward",
    );
    expect(field(() => resolveOptions({ ports: { serial: { from: 0, to: 10 } } }))).toBe(
      "options.ports.serial.from",
    );
    expect(field(() => resolveOptions({ ports: { serial: { from: 60000, to: 65536 } } }))).toBe(
      "options.ports.serial.to",
    );
    expect(field(() => resolveOptions({ ports: { "Bad Kind": { from: 1, to: 2 } } }))).toBe(
      "options.ports.Bad Kind",
    );
    expect(field(() => resolveOptions({ ports: { display: { from: 5000, to: 5999 } } }))).toBe(
      "options.ports.display.from",
    );
    expect(field(() => resolveOptions({ cpus: "x" }))).toBe("options.cpus");
    expect(field(() => resolveOptions({ fileMode: 0o644 | 0o100 }))).toBe("options.fileMode");
    expect(field(() => resolveOptions({ fileMode: 0o400 }))).toBe("options.fileMode");
    expect(field(() => resolveOptions({ heartbeat: { intervalMs: 5000, expiryMs: 6000 } }))).toBe(
      "options.heartbeat.expiryMs",
    );
    expect(field(() => resolveOptions({ timeoutMs: -1 }))).toBe("options.timeoutMs");
    expect(field(() => resolveOptions({ stateDri: "/x" } as never))).toBe("options.stateDri");
    expect(field(() => resolveOptions({ heartbeat: { interval: 5 } } as never))).toBe(
      "options.heartbeat.interval",
    );
    expect(
      field(() =>
        resolveOptions({ topology: { pci: [{ address: "0000:81:00.0", numaNode: 0 }] } } as never),
      ),
    ).toBe("options.topology.pci[0].numaNode");
    expect(
      field(() =>
        resolveOptions({ topology: { pci: [{ address: "0000:81:00.0", vfs: ["81:00.0"] }] } }),
      ),
    ).toBe("options.topology.pci[0].vfs");
    expect(
      field(() => resolveOptions({ topology: { cpus: { online: [0, 1], nodes: { 0: [2] } } } })),
    ).toBe("options.topology.cpus.nodes[0]");
  });

  test("the kind once called migrate is now migration: an option naming the old kind says so", () => {
    expect(() => resolveOptions({ ports: { migrate: { from: 8000, to: 8099 } } })).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARGUMENT",
        field: "options.ports.migrate",
        message: expect.stringMatching(/options\.ports\.migration/),
      }),
    );
    expect(
      resolveOptions({ ports: { migration: { from: 8000, to: 8099 } } }).portRanges.migration,
    ).toEqual({
      from: 8000,
      to: 8099,
    });
    expect(field(() => checkPortAsk("migrate", "kind", DEFAULT_PORT_RANGES))).toBe("kind");
  });

  test("owners are VM names", () => {
    expect(checkOwner("vm0")).toBe("vm0");
    expect(checkOwner("a.b_c-9")).toBe("a.b_c-9");
    for (const bad of ["", "-vm", "vm 0", "vm/0", "x".repeat(64), "vm$(id)", 7])
      expect(field(() => checkOwner(bad as string))).toBe("owner");
  });

  test("port and CPU requests", () => {
    expect(checkPortAsk("forward", "kind", DEFAULT_PORT_RANGES)).toEqual({ kind: "forward" });
    expect(checkPortAsk({ kind: "display", port: 5901 }, "p", DEFAULT_PORT_RANGES)).toEqual({
      kind: "display",
      port: 5901,
    });
    expect(field(() => checkPortAsk("ssh", "kind", DEFAULT_PORT_RANGES))).toBe("kind");
    expect(
      field(() => checkPortAsk({ kind: "forward", port: 70000 }, "p", DEFAULT_PORT_RANGES)),
    ).toBe("p.port");
    expect(checkCpuAsk(4)).toEqual({ count: 4, shared: false });
    expect(checkCpuAsk([3, 1])).toEqual({ cpus: [3, 1], shared: false });
    expect(checkCpuAsk({ count: 2, node: 1, shared: true })).toEqual({
      count: 2,
      node: 1,
      shared: true,
    });
    expect(field(() => checkCpuAsk(0))).toBe("request");
    expect(field(() => checkCpuAsk([]))).toBe("request");
    expect(field(() => checkCpuAsk([1, 1]))).toBe("request");
    expect(field(() => checkCpuAsk({ cpus: [1], count: 1 }))).toBe("request");
    expect(field(() => checkCpuAsk({ count: 1, node: -1 }))).toBe("request.node");
    expect(field(() => checkCpuAsk({ count: 1, nodes: 1 } as never))).toBe("request.nodes");
    expect(
      field(() => checkPortAsk({ kind: "forward", prot: 1 } as never, "p", DEFAULT_PORT_RANGES)),
    ).toBe("p.prot");
  });
});
