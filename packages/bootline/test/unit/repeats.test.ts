/**
 * Lists that must not repeat: a host CPU, a passthrough device, a listening port
 * (on one address and protocol) or a file named twice is an issue naming both
 * fields, in specs and DTS configs alike, however the repeat is spelled; and the
 * checks take linear time, so a hostile spec with huge lists cannot stall them.
 */
import { readDtsConfig, specIssues, type VmSpec } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { dtsError, spec } from "../helpers/spec.js";

const issuesOf = (overrides: Record<string, unknown>) => specIssues(spec(overrides));

describe("a spec naming one item twice: an issue naming both fields", () => {
  test("a host CPU pinned twice", () => {
    expect(issuesOf({ cpu: { hostCpus: [3, 4, 3] } })).toEqual([
      {
        path: "cpu.hostCpus[2]",
        message: "CPU 3 is listed twice: also cpu.hostCpus[0]",
        expected: "each host CPU once",
      },
    ]);
  });

  test("one host PCI device passed through twice, however its address is written", () => {
    expect(issuesOf({ passthrough: [{ host: "0000:81:00.1" }, { host: "81:0.1" }] })).toEqual([
      {
        path: "passthrough[1].host",
        message: "0000:81:00.1 is already passed through by passthrough[0]",
        expected: "each host device once",
      },
    ]);
  });

  test("two host forwards on one host port, address and protocol; other protocols and addresses are apart", () => {
    const issues = issuesOf({
      nets: [
        {
          type: "user",
          hostForwards: [
            { hostPort: 6001, guestPort: 22 },
            "tcp:127.0.0.1:6001-:80",
            { protocol: "udp", hostPort: 6001, guestPort: 53 },
            { hostAddress: "127.0.0.2", hostPort: 6001, guestPort: 22 },
          ],
        },
      ],
    });
    expect(issues).toEqual([
      {
        path: "nets[0].hostForwards[1].hostPort",
        message: "tcp port 6001 on 127.0.0.1 is already used by nets[0].hostForwards[0].hostPort",
        expected: "a port no other listener of this spec uses",
      },
    ]);
  });

  test("a fixed port used by two listeners: the serial console and a forward, VNC and the migration", () => {
    const issues = issuesOf({
      nets: [{ type: "user", hostForwards: [{ hostPort: 7001, guestPort: 22 }] }],
      serial: { type: "telnet", port: 7001 },
      display: { type: "vnc", display: 1 },
      incoming: { port: 5901 },
    });
    expect(issues.map(({ path, message }) => `${path}: ${message}`)).toEqual([
      "serial.port: tcp port 7001 on 127.0.0.1 is already used by nets[0].hostForwards[0].hostPort",
      "incoming.port: tcp port 5901 on 127.0.0.1 is already used by display.display",
    ]);
  });

  test.each([
    ["::1", "0:0:0:0:0:0:0:1"],
    ["::1", "0000::0001"],
    ["127.0.0.1", "::ffff:127.0.0.1"],
    ["fe80::1", "FE80:0:0::1"],
  ])("one address spelt two ways (%s, %s) is one address", (first, second) => {
    const issues = issuesOf({
      serial: { type: "telnet", host: first, port: 7001 },
      incoming: { host: second, port: 7001 },
    });
    expect(issues).toEqual([
      {
        path: "incoming.port",
        message: `tcp port 7001 on ${second} is already used by serial.port`,
        expected: "a port no other listener of this spec uses",
      },
    ]);
  });

  test.each(["0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::0", "::ffff:0.0.0.0"])(
    "every interface (%s) includes loopback",
    (wildcard) => {
      const issues = issuesOf({
        serial: { type: "telnet", host: "127.0.0.1", port: 7001 },
        incoming: { host: wildcard, port: 7001 },
      });
      expect(issues.map((issue) => issue.path)).toEqual(["incoming.port"]);
    },
  );
});

describe("a DTS config naming one item twice", () => {
  const read = (text: string) =>
    dtsError(() => readDtsConfig(text, undefined, { runtimeDir: "/run/qk/vm0" }));

  test.each([
    ["3 3 4", "CPU 3"],
    ["3-5 4", "CPU 4"],
    ["4 2-4 7", "CPU 4"],
  ])("cpupin=%s names a CPU twice", (pin, cpu) => {
    expect(read(`[vm0]\ncpu = model=host,number=2,cpupin=${pin};\n`).issues).toEqual([
      { section: "vm0", key: "cpu", line: 2, message: `cpupin=${pin} names ${cpu} twice` },
    ]);
  });

  test("two passthrough devices with one host address", () => {
    expect(
      read(
        "[vm0]\ndevice = driver=vfio-pci,opt_host=81:00.1;driver=vfio-pci,opt_host=0000:81:00.1;\n",
      ).issues,
    ).toEqual([
      {
        section: "vm0",
        key: "device",
        line: 2,
        message:
          "passthrough[1].host: 0000:81:00.1 is already passed through by passthrough[0] (expected each host device once)",
      },
    ]);
  });

  test("two host forwards on one port", () => {
    const issues = read(
      "[vm0]\nnet =\n  type=nic,opt_model=e1000;\n  type=user,opt_hostfwd=tcp:127.0.0.1:6001-:22;\n  type=nic;\n  type=user,opt_hostfwd=tcp::6001-:80;\n",
    ).issues;
    expect(issues).toEqual([
      expect.objectContaining({
        key: "net",
        message: expect.stringMatching(
          /^nets\[1\]\.hostForwards\[0\]\.hostPort: tcp port 6001 on 127\.0\.0\.1 is already used by nets\[0\]\.hostForwards\[0\]\.hostPort/,
        ),
      }),
    ]);
  });
});

describe("the repeat checks take linear time", () => {
  test("50,000 forwards, files and guest slots are checked at once", { timeout: 10_000 }, () => {
    const hostForwards = Array.from({ length: 50_000 }, (_, index) => ({
      hostPort: 1 + (index % 65_000),
      hostAddress: `127.0.${Math.floor(index / 250)}.${index % 250}`,
      guestPort: 22,
    }));
    const nets = Array.from({ length: 20_000 }, (_, index) => ({
      type: "vhost-user",
      socketPath: `/run/vhost/${index}.sock`,
      bus: `bridge${index}`,
      pciAddress: "01",
    }));
    const input = {
      ...spec(),
      memory: { sizeMiB: 1024, backend: { type: "memfd" } },
      nets: [{ type: "user", hostForwards }, ...nets],
    } as unknown as VmSpec;
    expect(specIssues(input)).toEqual([]);
  });
});
