import { PassThrough } from "node:stream";
import { InvalidSpecError, parseArgs } from "@qemu-kvm/bootline";
import { AbortError, InvalidArgumentError, TimeoutError } from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { CommandLineError, DemoError } from "../../src/cli/errors.js";
import { EXIT, exitCodeFor } from "../../src/cli/exit-codes.js";
import { createProgress } from "../../src/cli/progress.js";
import {
  formatPort,
  formatTable,
  formatUptime,
  type PsRow,
  rowOf,
  vcpuCount,
} from "../../src/cli/ps-format.js";
import { formatError } from "../../src/cli/report.js";
import { formatStop } from "../../src/cli/stop.js";
import { VmBootError, VmLaunchError, VmNotFoundError } from "../../src/errors.js";
import type { VmListing } from "../../src/vm/find.js";

const argv = [
  "taskset",
  "-c",
  "4-5",
  "qemu-system-x86_64",
  "-name",
  "web",
  "-smp",
  "cpus=2,sockets=1",
  "-netdev",
  "user,id=net0,hostfwd=tcp:127.0.0.1:6001-:22",
  "-device",
  "virtio-net-pci,netdev=net0",
  "-chardev",
  "socket,id=s0,host=127.0.0.1,port=7003,server=on,wait=off,telnet=on",
  "-serial",
  "chardev:s0",
];

function listing(extra: Partial<VmListing> = {}): VmListing {
  return {
    name: "web",
    kind: "foreign",
    pid: 4242,
    uptimeSeconds: 3723.44,
    argv,
    facts: parseArgs(argv),
    ...extra,
  };
}

describe("ps", () => {
  test("a row: the vCPUs, the pinning, every port QEMU listens on (with the guest port of a forward)", () => {
    expect(rowOf(listing(), "running")).toEqual({
      name: "web",
      kind: "foreign",
      state: "running",
      pid: 4242,
      uptimeSeconds: 3723.4,
      cpus: 2,
      hostCpus: [4, 5],
      ports: [
        { kind: "forward", protocol: "tcp", host: "127.0.0.1", port: 6001, guestPort: 22 },
        { kind: "serial", protocol: "tcp", host: "127.0.0.1", port: 7003 },
      ],
      ssh: null,
      control: null,
      runtimeDir: null,
    });
  });

  test("the vCPU count: -smp N, -smp cpus=N, the last one, or QEMU's 1", () => {
    expect(vcpuCount(["qemu", "-smp", "4"])).toBe(4);
    expect(vcpuCount(["qemu", "-smp", "sockets=1,cpus=3"])).toBe(3);
    expect(vcpuCount(["qemu", "-smp", "2", "-smp", "8,maxcpus=16"])).toBe(8);
    expect(vcpuCount(["qemu"])).toBe(1);
  });

  test("the table: a header, aligned columns, a dash for what is unknown", () => {
    const rows: PsRow[] = [
      { ...rowOf(listing(), "running"), kind: "managed" },
      { ...rowOf(listing({ name: "x", pid: 7, uptimeSeconds: undefined }), null), ports: [] },
    ];
    expect(formatTable(rows)).toBe(
      [
        "NAME         STATE    PID   CPUS          UPTIME  PORTS",
        "web          running  4242  2 (host 4-5)  1h02m   127.0.0.1:6001→22, serial 127.0.0.1:7003",
        "x (foreign)  -        7     2 (host 4-5)  -       -",
        "",
      ].join("\n"),
    );
  });

  test.each([
    [0, "0s"],
    [59.9, "59s"],
    [61, "1m01s"],
    [3600, "1h00m"],
    [90061, "1d01h"],
    [null, "-"],
  ])("uptime %s is %s", (seconds, text) => {
    expect(formatUptime(seconds)).toBe(text);
  });

  test("ports", () => {
    expect(formatPort({ kind: "display", protocol: "tcp", host: "::1", port: 5901 })).toBe(
      "vnc [::1]:5901",
    );
    expect(
      formatPort({ kind: "forward", protocol: "udp", host: "0.0.0.0", port: 6000, guestPort: 53 }),
    ).toBe("0.0.0.0:6000→53/udp");
  });
});

test("stop says which stage ended it, and each stage when there were several", () => {
  expect(formatStop("vm0", { stage: "guest", durationMs: 2610, stages: [] })).toBe(
    "vm0 stopped in 2.61 s: the guest powered off when asked\n",
  );
  expect(
    formatStop("vm0", {
      stage: "quit",
      durationMs: 2104,
      stages: [
        { stage: "acpi", outcome: "timeout", durationMs: 2000 },
        { stage: "quit", outcome: "stopped", durationMs: 104 },
      ],
    }),
  ).toBe(
    "vm0 stopped in 2.10 s: QEMU quit when asked over QMP\n" +
      "  acpi     timeout after 2.00 s\n" +
      "  quit     stopped after 0.10 s\n",
  );
});

describe("errors: the code, what failed, what underneath, what to do", () => {
  test("a VM that is not there", () => {
    expect(
      formatError(new VmNotFoundError({ vm: "vm9", host: "local", reason: "no record of it" })),
    ).toBe(
      "qemu-kvm: ERR_VM_NOT_FOUND: no running VM vm9 on local: no record of it\n" +
        "  what to do: `qemu-kvm ps` lists the VMs on the host; give the same --host and --runtime-base as when it was started\n",
    );
  });

  test("a usage error points at the verb's help", () => {
    const error = new CommandLineError({
      field: "--x",
      verb: "ps",
      message: "unknown option '--x'",
    });
    expect(formatError(error)).toContain("what to do: see `qemu-kvm ps --help`");
    expect(formatError(new CommandLineError({ field: "frob", message: "m" }))).toContain(
      "see `qemu-kvm --help`",
    );
  });

  test("a boot that failed shows the end of the console; a cause underneath is named", () => {
    const text = formatError(
      new VmBootError({
        vm: "vm0",
        attempts: 2,
        transcript: "booting\nKernel panic - not syncing\n",
        cause: new TimeoutError({ operation: "login", timeoutMs: 1000 }),
      }),
    );
    expect(text).toContain("qemu-kvm: ERR_VM_BOOT: VM vm0: the guest was not ready after 2 boots");
    expect(text).toContain("    Kernel panic - not syncing");
    expect(text).toContain("what to do: the guest's console is above");
  });

  test("QEMU's own words are kept", () => {
    const text = formatError(
      new VmLaunchError({
        vm: "vm0",
        phase: "qemu",
        stderr: "qemu-system-x86_64: -device nope: 'nope' is not a valid device model name",
        message: "QEMU exited with status 1",
      }),
    );
    expect(text).toContain("'nope' is not a valid device model name");
    expect(text).toContain("`qemu-kvm argv FILE`");
  });

  test("an error without a code is a bug to report", () => {
    expect(formatError(new Error("boom"))).toBe(
      "qemu-kvm: boom\n  what to do: this is a bug of qemu-kvm; please report it with the command line\n",
    );
  });

  test("the demo says what to do", () => {
    expect(formatError(new DemoError({ message: "m", hint: "pnpm demo" }))).toBe(
      "qemu-kvm: ERR_VM_DEMO: m\n  what to do: pnpm demo\n",
    );
  });
});

describe("exit codes", () => {
  const launch = new VmLaunchError({ vm: "vm0", phase: "qemu", message: "x" });
  test("usage 2 (the command line, a spec), a VM error 1, interrupted 130", () => {
    expect(exitCodeFor(new CommandLineError({ field: "f", message: "m" }), "start", false)).toBe(
      EXIT.usage,
    );
    expect(
      exitCodeFor(new InvalidSpecError([{ path: "name", message: "m" }]), "start", false),
    ).toBe(EXIT.usage);
    expect(exitCodeFor(new InvalidArgumentError("f", "e", 1), undefined, false)).toBe(EXIT.usage);
    expect(exitCodeFor(launch, "start", false)).toBe(EXIT.failed);
    expect(
      exitCodeFor(new AbortError({ operation: "start", cause: undefined }), "start", false),
    ).toBe(EXIT.interrupted);
    expect(exitCodeFor(launch, "stop", true)).toBe(EXIT.interrupted);
  });

  test("exec: 125 for every failure of its own, so none passes for the guest command's status", () => {
    for (const error of [launch, new CommandLineError({ field: "f", message: "m" })])
      expect(exitCodeFor(error, "exec", false)).toBe(125);
    expect(exitCodeFor(new AbortError({ operation: "exec", cause: undefined }), "exec", true)).toBe(
      125,
    );
    expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
  });
});

describe("progress", () => {
  function capture(isTTY: boolean) {
    const stream = Object.assign(new PassThrough(), { isTTY });
    let text = "";
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    return { stream, text: () => text };
  }

  test("on a terminal: a line per phase, redrawn in place, left when the next begins", () => {
    const { stream, text } = capture(true);
    const progress = createProgress(stream, "vm0: ");
    progress.phase("leases", 0);
    progress.phase("login", 1250);
    progress.done();
    const lines = text().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\r\x1b\[K {2}0\.0 s {2}vm0: leases/);
    expect(lines[1]).toMatch(/\r\x1b\[K {2}1\.[23] s {2}vm0: login$/);
    expect(lines[2]).toBe("");
  });

  test("anywhere else: not a byte", () => {
    const { stream, text } = capture(false);
    const progress = createProgress(stream, "vm0: ");
    progress.phase("leases", 0);
    progress.done();
    expect(text()).toBe("");
  });
});
