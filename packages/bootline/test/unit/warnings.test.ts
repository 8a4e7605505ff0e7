/**
 * `specWarnings`: what a valid spec exposes, for a facade to show: listeners on every
 * interface (or on an address other machines reach), and the TCP forms of the serial
 * console, VNC and the incoming migration, which every local user can connect to.
 */
import { InvalidSpecError, readDtsConfig, specWarnings } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { invalid, spec } from "../helpers/spec.js";

describe("specWarnings", () => {
  test("a spec on unix sockets and loopback forwards warns of nothing", () => {
    expect(
      specWarnings(
        spec({
          nets: [{ type: "user", hostForwards: [{ hostPort: 10022, guestPort: 22 }] }],
          qmp: {},
          serial: { type: "unix" },
          display: { type: "vnc", socket: "unix" },
          incoming: { type: "unix" },
        }),
      ),
    ).toEqual([]);
  });

  test("every wildcard listener is a warning at its address field", () => {
    const warnings = specWarnings(
      spec({
        nets: [
          {
            type: "user",
            hostForwards: [
              { hostAddress: "0.0.0.0", hostPort: 10022, guestPort: 22 },
              "udp:0.0.0.0:5353-:53",
              { hostPort: 10023, guestPort: 23 },
            ],
          },
        ],
        serial: { type: "telnet", host: "::", port: 7001 },
        display: { type: "vnc", host: "0:0:0:0:0:0:0:0", display: 1 },
        incoming: { host: "::ffff:0.0.0.0", port: 4444 },
      }),
    );
    expect(warnings.map((warning) => warning.field)).toEqual([
      "nets[0].hostForwards[0]",
      "nets[0].hostForwards[1]",
      "serial.host",
      "display.host",
      "incoming.host",
    ]);
    for (const warning of warnings) expect(warning.message).toMatch(/every interface/);
    for (const warning of warnings) expect(warning.code).toBe("WARN_BOOTLINE_WILDCARD_LISTENER");
    expect(warnings[0]!.message).toBe(
      "the forward to guest port 22 listens on TCP port 10022 on every interface (0.0.0.0): any machine that can reach the host can connect to it",
    );
    expect(warnings[1]!.message).toMatch(/^the forward to guest port 53 listens on UDP port 5353/);
  });

  test("the TCP serial console, VNC and migration on loopback: any local user can connect", () => {
    const warnings = specWarnings(
      spec({
        serial: { type: "telnet", port: 7001 },
        display: { type: "vnc", display: 1 },
        incoming: { port: "auto" },
      }),
    );
    expect(warnings).toEqual([
      {
        code: "WARN_BOOTLINE_TCP_LISTENER",
        field: "serial.type",
        message: expect.stringMatching(
          /^the serial console listens on TCP 127\.0\.0\.1:7001: any local user of the host can connect to it.*"unix"/,
        ),
      },
      {
        code: "WARN_BOOTLINE_TCP_LISTENER",
        field: "display.socket",
        message: expect.stringMatching(
          /^VNC listens on TCP 127\.0\.0\.1:5901: any local user of the host can connect to it \(QEMU asks no password.*"unix"/,
        ),
      },
      {
        code: "WARN_BOOTLINE_TCP_LISTENER",
        field: "incoming.type",
        message: expect.stringMatching(
          /^the incoming migration listens on TCP 127\.0\.0\.1:\(to be assigned\): any local user of the host can connect to it.*"unix"/,
        ),
      },
    ]);
  });

  test("a specific address other machines reach is said so", () => {
    const warnings = specWarnings(
      spec({
        nets: [
          {
            type: "user",
            hostForwards: [{ hostAddress: "192.0.2.10", hostPort: 6001, guestPort: 22 }],
          },
        ],
        serial: { type: "tcp", host: "192.0.2.10", port: 7001 },
      }),
    );
    expect(warnings.map((warning) => warning.code)).toEqual([
      "WARN_BOOTLINE_NETWORK_LISTENER",
      "WARN_BOOTLINE_NETWORK_LISTENER",
    ]);
    expect(warnings.map((warning) => warning.message)).toEqual([
      "the forward to guest port 22 listens on TCP 192.0.2.10:6001: any machine that can reach 192.0.2.10 can connect to it, and so can any local user",
      expect.stringMatching(
        /^the serial console listens on TCP 192\.0\.2\.10:7001: any machine that can reach 192\.0\.2\.10 can connect to it, and so can any local user \(QEMU asks no password/,
      ),
    ]);
  });

  test.each(["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"])(
    "loopback however written (%s) is local: a loopback forward warns of nothing, the serial console of local users",
    (host) => {
      // Host forwards take IPv4 only (QEMU's user networking).
      const hostAddress = host.includes(":") ? "127.0.0.2" : host;
      const warnings = specWarnings(
        spec({
          nets: [{ type: "user", hostForwards: [{ hostAddress, hostPort: 10022, guestPort: 22 }] }],
          serial: { type: "tcp", host, port: 7001 },
        }),
      );
      expect(warnings.map(({ code, field }) => ({ code, field }))).toEqual([
        { code: "WARN_BOOTLINE_TCP_LISTENER", field: "serial.type" },
      ]);
    },
  );

  test.each([
    ["::ffff:0.0.0.0", "WARN_BOOTLINE_WILDCARD_LISTENER"],
    ["0::0", "WARN_BOOTLINE_WILDCARD_LISTENER"],
    ["::ffff:192.0.2.1", "WARN_BOOTLINE_NETWORK_LISTENER"],
    ["fe80::1", "WARN_BOOTLINE_NETWORK_LISTENER"],
    ["10.0.0.1", "WARN_BOOTLINE_NETWORK_LISTENER"],
  ])("the incoming migration on %s: %s at incoming.host", (host, code) => {
    expect(specWarnings(spec({ incoming: { host, port: 4444 } }))).toEqual([
      { code, field: "incoming.host", message: expect.stringMatching(/guest's whole state/) },
    ]);
  });

  test.each([
    [["-qmp", "tcp:127.0.0.1:4444,server,nowait"], "a QMP monitor", "WARN_BOOTLINE_TCP_LISTENER"],
    [
      ["-monitor", "telnet::4445,server,nowait"],
      "an HMP monitor",
      "WARN_BOOTLINE_WILDCARD_LISTENER",
    ],
    [
      [
        "-chardev",
        "socket,id=m,host=::1,port=4446,server=on,wait=off",
        "-mon",
        "chardev=m,mode=control",
      ],
      "a QMP monitor",
      "WARN_BOOTLINE_TCP_LISTENER",
    ],
    [
      ["-serial", "tcp:192.0.2.1:7002,server"],
      "a serial console",
      "WARN_BOOTLINE_NETWORK_LISTENER",
    ],
    [["--gdb", "tcp:localhost:1234"], "a gdb stub", "WARN_BOOTLINE_TCP_LISTENER"],
    [["-S", "-s"], "a gdb stub", "WARN_BOOTLINE_WILDCARD_LISTENER"],
    [["-vnc", ":2"], "VNC", "WARN_BOOTLINE_WILDCARD_LISTENER"],
  ])("extraArgs %j: %s is a warning at extraArgs (%s)", (extraArgs, what, code) => {
    const warnings = specWarnings(spec({ extraArgs }));
    expect(warnings).toEqual([{ code, field: "extraArgs", message: expect.any(String) }]);
    expect(warnings[0]!.message.startsWith(`${what} listens on TCP `)).toBe(true);
  });

  test("extraArgs on unix sockets, a loopback forward, or an option value that only looks like one: no warning", () => {
    expect(
      specWarnings(
        spec({
          extraArgs: [
            "-qmp",
            "unix:/run/qk/vm0/q.sock,server,nowait",
            "-gdb",
            "unix:/run/qk/vm0/gdb.sock,server=on,wait=off",
            "-netdev",
            "user,id=x0,hostfwd=tcp:127.0.0.1:2222-:22",
            "-append",
            "-s",
            "-device",
            "virtio-rng-pci",
          ],
        }),
      ),
    ).toEqual([]);
  });

  test("a DTS config listening where DTS did (every interface) warns", () => {
    const vm = readDtsConfig("[vm0]\nmigration = enable=yes;\n", undefined, {
      runtimeDir: "/run/qk/vm0",
      listenAddress: "0.0.0.0",
    }).get("vm0")!;
    expect(specWarnings(vm.spec).map((warning) => warning.field)).toEqual([
      "nets[0].hostForwards[0]",
      "serial.host",
      "display.host",
      "incoming.host",
    ]);
  });

  test("an invalid spec is an InvalidSpecError", () => {
    const error = invalid(() => specWarnings(spec({ serial: { type: "telnet", port: 0 } })));
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect(error.issues.map((issue) => issue.path)).toEqual(["serial.port"]);
  });
});
