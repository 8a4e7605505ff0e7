import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import {
  assignPorts,
  buildArgs,
  InvalidSpecError,
  ids,
  splitOptionList,
  unassignedPorts,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { invalid, invalidArgument } from "../helpers/spec.js";

const shared = { sizeMiB: 1024, backend: { type: "memfd" as const } };

/** Every `id=` and `chardev`/`netdev`/`-mon` reference in argv. */
function idsIn(args: readonly string[]): { defined: string[]; referenced: string[] } {
  const defined: string[] = [];
  const referenced: string[] = [];
  for (const arg of args) {
    for (const part of splitOptionList(arg)) {
      if (part.key === "id") defined.push(part.value);
      if (["chardev", "netdev", "cryptodev", "memdev", "rng"].includes(part.key))
        referenced.push(part.value);
      if (part.key === "bus" && part.value.endsWith(".0") && part.value !== "pci.0")
        referenced.push(part.value.slice(0, -2));
    }
    if (arg.startsWith("chardev:")) referenced.push(arg.slice("chardev:".length));
  }
  return { defined, referenced };
}

describe("ids", () => {
  const big: VmSpec = {
    name: "vm0",
    runtimeDir: "/run/qk/vm0",
    memory: shared,
    drives: Array.from({ length: 12 }, (_, index) => ({ path: `/img/${index}` })),
    pflash: [{ path: "/code" }, { path: "/vars" }],
    nets: Array.from({ length: 12 }, (_, index) =>
      index % 3 === 0
        ? { type: "vhost-user" as const, socketPath: `/run/v${index}` }
        : index % 3 === 1
          ? { type: "user" as const }
          : { type: "tap" as const },
    ),
    passthrough: Array.from({ length: 12 }, (_, index) => ({
      host: `81:00.${index % 8}`.replace(/^81/, `8${Math.floor(index / 8) + 1}`),
    })),
    crypto: Array.from({ length: 11 }, (_, index) => ({
      backend: index % 2 ? ("builtin" as const) : ("vhost-user" as const),
    })),
    qmp: {},
    monitor: {},
    serial: { type: "unix" },
    guestAgent: {},
    rng: {},
  };

  test("never collide, even with many devices of every kind (nets, drives, passthrough, crypto ≥ 10)", () => {
    const { defined } = idsIn(buildArgs(big));
    expect(defined.length).toBeGreaterThan(80);
    expect(new Set(defined).size).toBe(defined.length);
  });

  test("every reference points at an id the argv defines", () => {
    const { defined, referenced } = idsIn(buildArgs(big));
    for (const reference of referenced) expect(defined).toContain(reference);
  });

  test("depend only on the entry's position and kind: NICs pair with their own netdev, never by a counter", () => {
    const args = buildArgs({
      name: "vm0",
      memory: shared,
      nets: [
        { type: "user" },
        { type: "user" },
        { type: "vhost-user", socketPath: "/s" },
        { type: "user", model: "e1000" },
      ],
    });
    const pairs = args
      .filter((arg) => arg.includes("netdev=net"))
      .map((arg) => /netdev=(net\d+),id=(nic\d+)/.exec(arg)!.slice(1));
    expect(pairs).toEqual([
      ["net0", "nic0"],
      ["net1", "nic1"],
      ["net2", "nic2"],
      ["net3", "nic3"],
    ]);
  });

  test("are valid QEMU ids and their prefixes cannot produce one another", () => {
    const generated = [
      ids.netdev(10),
      ids.nic(10),
      ids.netChardev(10),
      ids.drive(10),
      ids.pflash(1),
      ids.passthrough(10),
      ids.cryptoChardev(10),
      ids.cryptoBackend(10),
      ids.cryptoDevice(10),
      ids.memoryBackend,
      ids.qmpChardev,
      ids.monitorChardev,
      ids.serialChardev,
      ids.guestAgentChardev,
      ids.virtioSerial,
      ids.guestAgentPort,
      ids.rngBackend,
      ids.rngDevice,
    ];
    for (const id of generated) expect(id).toMatch(/^[A-Za-z][A-Za-z0-9_.-]*$/);
    const prefixes = [
      ids.netdev(0),
      ids.nic(0),
      ids.netChardev(0),
      ids.drive(0),
      ids.pflash(0),
      ids.passthrough(0),
      ids.cryptoChardev(0),
      ids.cryptoBackend(0),
      ids.cryptoDevice(0),
    ].map((id) => id.slice(0, -1));
    for (const a of prefixes)
      for (const b of prefixes)
        if (a !== b && b.startsWith(a)) expect(b.slice(a.length), `${a} / ${b}`).toMatch(/^\D/);
  });
});

describe("unassignedPorts and assignPorts", () => {
  const pending: VmSpec = {
    name: "vm0",
    runtimeDir: "/run/qk/vm0",
    nets: [
      { type: "user", hostForwards: ["tcp::-:22", { hostPort: 6100, guestPort: 80 }] },
      {
        type: "user",
        hostForwards: [
          { protocol: "udp", hostAddress: "0.0.0.0", hostPort: "auto", guestPort: 53 },
        ],
      },
    ],
    serial: { type: "telnet", port: "auto" },
    display: { type: "vnc", display: "auto" },
    incoming: { port: "auto" },
  };

  test("lists every auto port with its kind, protocol and address", () => {
    expect(unassignedPorts(pending)).toEqual([
      {
        field: "nets[0].hostForwards[0].hostPort",
        kind: "forward",
        protocol: "tcp",
        host: "127.0.0.1",
      },
      {
        field: "nets[1].hostForwards[0].hostPort",
        kind: "forward",
        protocol: "udp",
        host: "0.0.0.0",
      },
      { field: "serial.port", kind: "serial", protocol: "tcp", host: "127.0.0.1" },
      { field: "display.display", kind: "display", protocol: "tcp", host: "127.0.0.1" },
      { field: "incoming.port", kind: "migration", protocol: "tcp", host: "127.0.0.1" },
    ]);
    expect(unassignedPorts({ name: "vm0" })).toEqual([]);
  });

  test("fills them in (a display gets port − 5900) without touching the input; then the spec builds", () => {
    const before = structuredClone(pending);
    const ready = assignPorts(pending, {
      "nets[0].hostForwards[0].hostPort": 6001,
      "nets[1].hostForwards[0].hostPort": 6002,
      "serial.port": 7001,
      "display.display": 5905,
      "incoming.port": 8001,
    });
    expect(pending).toEqual(before);
    expect(unassignedPorts(ready)).toEqual([]);
    const args = buildArgs(ready).join(" ");
    expect(args).toContain("hostfwd=tcp:127.0.0.1:6001-:22,hostfwd=tcp:127.0.0.1:6100-:80");
    expect(args).toContain("hostfwd=udp:0.0.0.0:6002-:53");
    expect(args).toContain("port=7001");
    expect(args).toContain("-vnc 127.0.0.1:5");
    expect(args).toContain("-incoming tcp:127.0.0.1:8001");
  });

  test("a partial assignment leaves the rest auto", () => {
    const partial = assignPorts(pending, { "serial.port": 7001 });
    expect(unassignedPorts(partial).map((request) => request.field)).not.toContain("serial.port");
    expect(unassignedPorts(partial)).toHaveLength(4);
  });

  test("rejects fields that are not auto ports, and ports out of range", () => {
    const error = invalid(() =>
      assignPorts(pending, {
        "nets[0].hostForwards[1].hostPort": 6200,
        "serial.port": 70000,
        "display.display": 5899,
        name: 1,
      }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual([
      "nets[0].hostForwards[1].hostPort",
      "serial.port",
      "display.display",
      "name",
    ]);
  });

  test("reports other problems of the spec as they are", () => {
    expect(() => unassignedPorts({ name: "vm 0" })).toThrow(InvalidSpecError);
  });

  test("a value that is not a number is reported as what it is (a pool lease is not its port)", () => {
    const lease = { type: "port", owner: "vm0", kind: "serial", port: 7001, since: "now" };
    const error = invalid(() =>
      assignPorts(pending, {
        "serial.port": lease as unknown as number,
        "incoming.port": "8001" as unknown as number,
        "display.display": 5900.5,
      }),
    );
    expect(error.issues).toEqual([
      {
        path: "serial.port",
        message: "must be a port number (got an object { type, owner, kind, port, … })",
      },
      { path: "incoming.port", message: 'must be a port number (got "8001")' },
      { path: "display.display", message: "must be a port number (got 5900.5)" },
    ]);
    expect(error.message).not.toContain("[object Object]");
    expect(assignPorts(pending, { "serial.port": lease.port }).serial).toMatchObject({
      port: 7001,
    });
  });

  test("ports that are not an object of numbers is an argument error", () => {
    for (const ports of [undefined, null, [6001], "serial.port=6001"])
      invalidArgument(() => assignPorts(pending, ports as never), "ports");
  });
});

describe("purity: the package does no I/O", () => {
  const source = join(import.meta.dirname, "..", "..", "src");
  const files = readdirSync(source, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .sort();

  test("the sources are found, in their folders", () => {
    expect(files).toContain("index.ts");
    expect(files).toContain(join("argv", "build.ts"));
    expect(files).toContain(join("dts", "read.ts"));
  });

  test.each(files)(
    "%s imports only the package's own modules and @qemu-kvm/core, and uses no timers, processes or globals of Node",
    (file) => {
      const text = readFileSync(join(source, file), "utf8");
      for (const match of text.matchAll(/from\s+"([^"]+)"/g)) {
        const target = match[1]!;
        if (target === "@qemu-kvm/core") continue;
        expect(target).toMatch(/^(\.\/|(\.\.\/)+)([a-z-]+\/)*[a-z-]+\.js$/);
        const resolved = relative(source, join(source, dirname(file), target));
        expect(resolved.startsWith(".."), `${target} leaves src`).toBe(false);
      }
      expect(text).not.toMatch(
        /\b(setTimeout|setInterval|setImmediate|queueMicrotask|process\.|require\(|import\()/,
      );
      expect(text).not.toMatch(
        /\b(fetch\(|Date\.now|Math\.random|console\.(log|error|warn|info|debug))/,
      );
    },
  );
});
