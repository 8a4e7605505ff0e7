/**
 * Real QEMU 7.2 and 10.0 (TCG, paused, no guest) started with argv from the builder, for a
 * spec using every option QEMU accepts here without special hardware. Checked over
 * QMP: the devices exist with the builder's ids; checked in /proc: every listener is
 * on 127.0.0.1, and the command line parses back into the spec's facts.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildArgs,
  buildCommand,
  formatCommandLine,
  parseArgs,
  specFacts,
  splitProcCmdline,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { freePort, QEMU, type QemuFixture } from "@qemu-kvm/testkit";
import type { LaunchQemu } from "@qemu-kvm/testkit/fixtures";
import { describe, expect, type TestContext } from "vitest";
import { test } from "../helpers/fixtures.js";
import {
  accepts,
  firstBytes,
  freeDisplay,
  hmp,
  listeningSockets,
  Qmp,
  run,
  standInKernel,
} from "../helpers/qemu.js";

/**
 * The `integration-qemu-10.0` project (vitest.shared.ts) runs these files on QEMU 10.0,
 * whose e1000 has no `autonegotiation` property (7.2's has; the test guest sets it off).
 */
const QEMU_10 = process.env.QEMU_KVM_TEST_QEMU === "10.0";
const e1000Properties = QEMU_10 ? {} : { deviceProperties: { autonegotiation: false } };

/**
 * Images in a directory whose name holds a comma and a space, with names that
 * hold what a shell or QEMU's option syntax would misread.
 */
async function makeImages(parent: string): Promise<string> {
  const images = join(parent, "img, dir");
  await mkdir(images);
  await run("qemu-img", ["create", "-q", "-f", "qcow2", join(images, "disk, one.qcow2"), "64M"]);
  await writeFile(
    join(images, "it's $(touch pwned) `id`\nnew line.img"),
    Buffer.alloc(1024 * 1024),
  );
  await writeFile(join(images, "code,fd"), Buffer.alloc(2 * 1024 * 1024));
  await writeFile(join(images, "vars fd"), Buffer.alloc(2 * 1024 * 1024));
  await writeFile(join(images, "bz,Image"), standInKernel());
  await writeFile(join(images, "initrd img"), Buffer.from("initrd"));
  return images;
}

/**
 * Starts the spec's argv under the testkit fixture, which adds `-accel tcg` and its
 * own QMP socket (not `-S`: the spec says `paused`), and connects to the spec's QMP
 * socket (closed after the test).
 */
async function start(
  launchQemu: LaunchQemu,
  onTestFinished: TestContext["onTestFinished"],
  spec: VmSpec,
): Promise<{ qemu: QemuFixture; qmp: Qmp }> {
  if (!spec.paused) throw new Error("the spec must start paused: there is no guest to run");
  const qemu = await launchQemu({ args: buildArgs(spec), paused: false, timeoutMs: 60_000 });
  const endpoint = specFacts(spec).qmp[0];
  if (endpoint?.type !== "unix") throw new Error("the spec needs a QMP socket");
  const qmp = await Qmp.connect(endpoint.path);
  onTestFinished(() => qmp.close());
  return { qemu, qmp };
}

interface PciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  id: { vendor: number; device: number };
  class_info: { desc?: string; class: number };
  /** BAR 6 is the option ROM. */
  regions: { bar: number; size: number }[];
}

async function pciDevices(connection: Qmp): Promise<PciDevice[]> {
  const buses = await connection.execute<{ bus: number; devices: PciDevice[] }[]>("query-pci");
  return buses.flatMap((bus) => bus.devices);
}

describe("real QEMU accepts the builder's argv", () => {
  test("a spec with every option QEMU can create here, with the builder's ids, listening on 127.0.0.1 only", async ({
    tempDir,
    memoryDir,
    launchQemu,
    onTestFinished,
  }) => {
    const images = await makeImages(tempDir.path);
    const runtimeDir = join(tempDir.path, "run,1");
    await mkdir(runtimeDir, { mode: 0o700 });
    const [forwardTcp, forwardUdp, forwardTwo, serialPort, incomingPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const display = await freeDisplay();
    const spec: VmSpec = {
      name: "bl-full",
      runtimeDir,
      accelerator: "tcg",
      paused: true,
      machine: { type: "pc" },
      pidfile: {},
      cpu: { model: "max", count: 2 },
      memory: {
        sizeMiB: 128,
        backend: { type: "file", path: memoryDir, share: true, prealloc: true },
      },
      drives: [
        { path: join(images, "disk, one.qcow2"), format: "qcow2", interface: "virtio" },
        {
          path: join(images, "it's $(touch pwned) `id`\nnew line.img"),
          format: "raw",
          interface: "ide",
          index: 1,
        },
      ],
      pflash: [
        { path: join(images, "code,fd"), readOnly: true },
        { path: join(images, "vars fd") },
      ],
      kernel: {
        path: join(images, "bz,Image"),
        initrdPath: join(images, "initrd img"),
        console: { device: "ttyS0", baudRate: 115200 },
        root: "/dev/vda1",
        append: "panic=-1 quiet",
      },
      nets: [
        {
          type: "user",
          model: "e1000",
          hostForwards: [
            { hostPort: forwardTcp, guestPort: 22 },
            { protocol: "udp", hostPort: forwardUdp, guestPort: 53 },
          ],
        },
        {
          type: "user",
          model: "virtio-net-pci",
          mac: "52:54:00:12:34:56",
          pciAddress: "0x10",
          disableModern: true,
          deviceProperties: { csum: false, mrg_rxbuf: false },
          hostForwards: [`tcp::${forwardTwo}-10.0.2.15:80`],
        },
        { type: "user", model: "rtl8139" },
        { type: "user", model: "e1000e", mac: "52:54:00:12:34:57" },
        { type: "user", model: "i82551" },
      ],
      qmp: {},
      monitor: {},
      serial: { type: "telnet", port: serialPort, log: {} },
      guestAgent: { pciAddress: "1e" },
      display: { type: "vnc", display },
      incoming: { port: incomingPort },
      crypto: [{ backend: "builtin", pciAddress: "0x11" }],
    };
    const { qemu: vm, qmp: connection } = await start(launchQemu, onTestFinished, spec);

    // PCI: every device the builder named, at the slots the spec asked for.
    const pci = await pciDevices(connection);
    const byId = new Map(pci.map((device) => [device.qdev_id, device]));
    for (const id of ["nic0", "nic1", "nic2", "nic3", "nic4", "virtio-serial0", "crypto0"])
      expect(byId.has(id), `${id} in ${[...byId.keys()].join(",")}`).toBe(true);
    expect(byId.get("nic1")).toMatchObject({ bus: 0, slot: 0x10, function: 0 });
    expect(byId.get("virtio-serial0")).toMatchObject({ slot: 0x1e });
    expect(byId.get("crypto0")).toMatchObject({ slot: 0x11 });
    expect(byId.get("nic0")!.id).toMatchObject({ vendor: 0x8086, device: 0x100e }); // e1000
    expect(byId.get("nic1")!.id).toMatchObject({ vendor: 0x1af4, device: 0x1000 }); // virtio-net, transitional
    expect(byId.get("nic2")!.id).toMatchObject({ vendor: 0x10ec, device: 0x8139 }); // rtl8139
    expect(byId.get("nic3")!.id).toMatchObject({ vendor: 0x8086, device: 0x10d3 }); // e1000e
    expect(byId.get("nic4")!.id).toMatchObject({ vendor: 0x8086, device: 0x1209 }); // i82551
    const nic1 = "/machine/peripheral/nic1";
    expect(await connection.execute("qom-get", { path: nic1, property: "mac" })).toBe(
      "52:54:00:12:34:56",
    );
    expect(await connection.execute("qom-get", { path: nic1, property: "disable-modern" })).toBe(
      true,
    );
    expect(await connection.execute("qom-get", { path: nic1, property: "csum" })).toBe(false);
    expect(
      await connection.execute("qom-get", { path: "/machine/peripheral/nic3", property: "mac" }),
    ).toBe("52:54:00:12:34:57");
    expect(
      await connection.execute("qom-get", { path: "/machine/peripheral/qga0", property: "name" }),
    ).toBe("org.qemu.guest_agent.0");

    // Character devices: the builder's ids, on the spec's sockets.
    const chardevs =
      await connection.execute<{ label: string; filename: string }[]>("query-chardev");
    // QEMU prefixes "disconnected:" while no client is connected.
    const byLabel = new Map(
      chardevs.map((chardev) => [chardev.label, chardev.filename.replace(/^disconnected:/, "")]),
    );
    expect(byLabel.get("char-qmp")).toBe(`unix:${runtimeDir}/qmp.sock,server=on`);
    expect(byLabel.get("char-monitor")).toBe(`unix:${runtimeDir}/monitor.sock,server=on`);
    expect(byLabel.get("char-qga0")).toBe(`unix:${runtimeDir}/qga.sock,server=on`);
    expect(byLabel.get("char-serial0")).toMatch(
      new RegExp(`^telnet:127\\.0\\.0\\.1:${serialPort},server=on`),
    );

    // Block devices: the builder's ids on the very files, whatever their names hold.
    const blocks =
      await connection.execute<{ device: string; inserted?: { file: string; ro: boolean } }[]>(
        "query-block",
      );
    const files = new Map(blocks.map((block) => [block.device, block.inserted]));
    expect(files.get("drive0")?.file).toBe(join(images, "disk, one.qcow2"));
    expect(files.get("drive1")?.file).toBe(join(images, "it's $(touch pwned) `id`\nnew line.img"));
    expect(files.get("pflash0")).toMatchObject({ file: join(images, "code,fd"), ro: true });
    expect(files.get("pflash1")).toMatchObject({ file: join(images, "vars fd"), ro: false });

    // Name, CPUs, memory backend, VNC, incoming migration.
    expect(await connection.execute("query-name")).toEqual({ name: "bl-full" });
    expect(await connection.execute<unknown[]>("query-cpus-fast")).toHaveLength(2);
    const memdevs = await connection.execute<Record<string, unknown>[]>("query-memdev");
    expect(memdevs).toEqual([
      expect.objectContaining({ id: "mem0", size: 128 * 1024 * 1024, share: true, prealloc: true }),
    ]);
    expect(await connection.execute("query-vnc")).toMatchObject({
      enabled: true,
      host: "127.0.0.1",
      service: String(5900 + display),
    });
    expect(await connection.execute("query-status")).toMatchObject({ status: "inmigrate" });

    // The legacy HMP socket answers, and the user network forwards what the spec says.
    const usernet = await hmp(`${runtimeDir}/monitor.sock`, "info usernet");
    // "  TCP[HOST_FORWARD]   9       127.0.0.1 45555       10.0.2.15    22     0     0"
    const forward = (protocol: string, port: number, guestPort: number) =>
      new RegExp(
        `${protocol}\\[HOST_FORWARD\\]\\s+\\d+\\s+127\\.0\\.0\\.1\\s+${port}\\s+10\\.0\\.2\\.15\\s+${guestPort}\\s`,
      );
    expect(usernet).toMatch(forward("TCP", forwardTcp, 22));
    expect(usernet).toMatch(forward("UDP", forwardUdp, 53));
    expect(usernet).toMatch(forward("TCP", forwardTwo, 80));

    // The serial console speaks telnet (option negotiation first) and logs to its file.
    const negotiation = await firstBytes({ host: "127.0.0.1", port: serialPort }, 12);
    expect([...negotiation.subarray(0, 3)]).toEqual([0xff, 0xfb, 0x01]);
    expect((await stat(`${runtimeDir}/serial.log`)).isFile()).toBe(true);
    expect((await readFile(`${runtimeDir}/qemu.pid`, "utf8")).trim()).toBe(String(vm.pid));

    // Every listener is where the spec's facts say, and on 127.0.0.1 only.
    const facts = specFacts(spec);
    const sockets = await listeningSockets(vm.pid);
    expect(
      sockets.every((socket) => socket.host === "127.0.0.1"),
      JSON.stringify(sockets),
    ).toBe(true);
    expect(sockets.map(({ protocol, port }) => `${protocol}/${port}`).sort()).toEqual(
      facts.listeners.map(({ protocol, port }) => `${protocol}/${port}`).sort(),
    );
    for (const path of facts.runtimePaths)
      expect((await stat(path.path)).isFile() || path.role === "listen").toBe(true);

    // What /proc/PID/cmdline says parses back into the same facts (plus the fixture's own QMP socket).
    const cmdline = splitProcCmdline(await readFile(`/proc/${vm.pid}/cmdline`, "utf8"));
    const parsed = parseArgs(cmdline);
    expect(parsed.file).toBe(QEMU);
    expect(parsed.qmp).toEqual([{ type: "unix", path: vm.qmpPath, server: true }, ...facts.qmp]);
    const { qmp: _parsedQmp, file: _file, listeners: _l, runtimePaths: _r, ...restParsed } = parsed;
    const { qmp: _factsQmp, listeners: _l2, runtimePaths: _r2, ...restFacts } = facts;
    expect(restParsed).toEqual(restFacts);
  });

  test("serial on a unix socket with a log, and the guest agent socket, answer", async ({
    tempDir,
    launchQemu,
    onTestFinished,
  }) => {
    const runtimeDir = join(tempDir.path, "run2");
    await mkdir(runtimeDir, { mode: 0o700 });
    const spec: VmSpec = {
      name: "bl-unix",
      runtimeDir,
      accelerator: "tcg",
      paused: true,
      qmp: {},
      serial: { type: "unix", log: { path: join(tempDir.path, "console, vm.log") } },
      guestAgent: {},
      nets: [{ type: "user", model: "virtio-net-pci", hostForwards: [] }],
    };
    const { qemu: vm, qmp: connection } = await start(launchQemu, onTestFinished, spec);
    const chardevs =
      await connection.execute<{ label: string; filename: string }[]>("query-chardev");
    expect(chardevs.find((chardev) => chardev.label === "char-serial0")?.filename).toBe(
      `disconnected:unix:${runtimeDir}/serial.sock,server=on`,
    );
    expect(chardevs.find((chardev) => chardev.label === "char-qga0")?.filename).toBe(
      `disconnected:unix:${runtimeDir}/qga.sock,server=on`,
    );
    await accepts(`${runtimeDir}/serial.sock`);
    await accepts(`${runtimeDir}/qga.sock`);
    expect((await stat(join(tempDir.path, "console, vm.log"))).isFile()).toBe(true);
    expect(await listeningSockets(vm.pid)).toEqual([]);
    expect((await pciDevices(connection)).map((device) => device.qdev_id)).toEqual(
      expect.arrayContaining(["nic0", "virtio-serial0"]),
    );
  });
});

describe("what the VM facade asks of the builder", () => {
  test("uuid, paused, no reboot, no user config, entropy, NICs without option ROMs, one console=, VNC and migration on unix sockets", async ({
    tempDir,
    launchQemu,
    onTestFinished,
  }) => {
    const images = await makeImages(tempDir.path);
    // Any file is a ROM to QEMU: it sizes the ROM BAR after it.
    const romfile = join(images, "pxe,virtio.rom");
    await writeFile(romfile, Buffer.alloc(8192));
    const runtimeDir = join(tempDir.path, "run,4");
    await mkdir(runtimeDir, { mode: 0o700 });
    const forward = await freePort();
    const spec: VmSpec = {
      name: "bl-facade",
      uuid: "6A1F3C2E-0B7D-4E59-9C1A-2F8E4D6B7A90",
      runtimeDir,
      accelerator: "tcg",
      machine: { type: "q35" },
      noUserConfig: true,
      paused: true,
      noReboot: true,
      drives: [
        {
          path: join(images, "disk, one.qcow2"),
          format: "qcow2",
          interface: "virtio",
          snapshot: true,
        },
      ],
      kernel: {
        path: join(images, "bz,Image"),
        initrdPath: join(images, "initrd img"),
        console: { device: "ttyS0", baudRate: 115200 },
        append: "console=ttyS0,115200 quiet panic=-1",
      },
      nets: [
        {
          type: "user",
          model: "e1000",
          romfile: "",
          ...e1000Properties,
          hostForwards: [{ hostPort: forward, guestPort: 22 }],
        },
        { type: "user", model: "virtio-net-pci", romfile },
      ],
      qmp: {},
      serial: { type: "unix", log: {} },
      guestAgent: {},
      rng: {},
      display: { type: "vnc", socket: "unix" },
      incoming: { type: "unix" },
    };
    const { qemu: vm, qmp: connection } = await start(launchQemu, onTestFinished, spec);

    // The UUID the guest would read from DMI; vCPUs stopped, waiting for a migration.
    expect(await connection.execute("query-uuid")).toEqual({
      UUID: "6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90",
    });
    expect(await connection.execute("query-status")).toMatchObject({
      status: "inmigrate",
      running: false,
    });
    // The kernel command line has the guest's own console= only.
    expect(await connection.execute("qom-get", { path: "/machine", property: "append" })).toBe(
      "console=ttyS0,115200 quiet panic=-1",
    );

    // VNC and the incoming migration listen on unix sockets in the runtime directory.
    expect(await connection.execute("query-vnc")).toMatchObject({
      enabled: true,
      family: "unix",
      service: `${runtimeDir}/vnc.sock`,
    });
    expect(await connection.execute("query-migrate")).toMatchObject({
      "socket-address": [{ type: "unix", path: `${runtimeDir}/incoming.sock` }],
    });

    // Entropy from /dev/urandom through the builder's ids.
    const peripheral = "/machine/peripheral";
    expect(
      await connection.execute("qom-get", { path: `${peripheral}/virtio-rng0`, property: "rng" }),
    ).toBe("/objects/rng0");
    expect(
      await connection.execute("qom-get", { path: "/objects/rng0", property: "filename" }),
    ).toBe("/dev/urandom");

    // romfile= means no option ROM (no ROM BAR); a path with a comma is the very file.
    const qom = (id: string, property: string) =>
      connection.execute("qom-get", { path: `${peripheral}/${id}`, property });
    expect(await qom("nic0", "romfile")).toBe("");
    expect(await qom("nic1", "romfile")).toBe(romfile);
    if (!QEMU_10) expect(await qom("nic0", "autonegotiation")).toBe(false);
    const pci = new Map((await pciDevices(connection)).map((device) => [device.qdev_id, device]));
    expect(pci.get("nic0")!.regions.some((region) => region.bar === 6)).toBe(false);
    expect(pci.get("nic1")!.regions.find((region) => region.bar === 6)?.size).toBe(8192);
    expect(pci.has("virtio-rng0")).toBe(true);

    // No TCP listener but the forward; every runtime path exists where the facts say.
    const facts = specFacts(spec);
    expect(await listeningSockets(vm.pid)).toEqual([
      { protocol: "tcp", host: "127.0.0.1", port: forward },
    ]);
    expect(facts.runtimePaths.map((path) => path.kind)).toEqual([
      "qmp",
      "serial",
      "serial-log",
      "guest-agent",
      "vnc",
      "incoming",
    ]);
    for (const path of facts.runtimePaths)
      expect((await stat(path.path)).isSocket(), path.path).toBe(path.role === "listen");

    // The command line reads back into the same facts (plus the fixture's QMP socket).
    const parsed = parseArgs(splitProcCmdline(await readFile(`/proc/${vm.pid}/cmdline`, "utf8")));
    const { qmp: _parsedQmp, file: _file, listeners: _l, runtimePaths: _r, ...restParsed } = parsed;
    const { qmp: _factsQmp, listeners: _l2, runtimePaths: _r2, ...restFacts } = facts;
    expect(restParsed).toEqual(restFacts);
    expect(parsed.drives).toEqual([
      {
        id: "drive0",
        path: join(images, "disk, one.qcow2"),
        format: "qcow2",
        interface: "virtio",
        readOnly: false,
        snapshot: true,
      },
    ]);

    // -no-reboot: a reset ends QEMU (cleanly) instead of restarting the machine.
    await connection.execute("system_reset");
    expect(await vm.exited).toEqual({ code: 0, signal: null });
  });

  test.runIf(QEMU_10)(
    "QEMU 10.0 refuses e1000's autonegotiation property, which 7.2 has: the builder passes deviceProperties as given",
    async ({ launchQemu }) => {
      const spec: VmSpec = {
        name: "bl-autoneg",
        accelerator: "tcg",
        paused: true,
        nets: [{ type: "user", model: "e1000", deviceProperties: { autonegotiation: false } }],
      };
      expect(buildArgs(spec)).toContain("e1000,netdev=net0,id=nic0,autonegotiation=off");
      await expect(launchQemu({ args: buildArgs(spec), timeoutMs: 60_000 })).rejects.toThrow(
        "Property 'e1000.autonegotiation' not found",
      );
    },
  );
});

/**
 * Kills the daemonized QEMU of a pidfile, if it wrote one, by its pid after
 * checking that the pid is still that QEMU.
 */
async function killDaemon(pidfile: string, name: string): Promise<void> {
  const pid = Number((await readFile(pidfile, "utf8").catch(() => "")).trim());
  if (!(pid > 1)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (cmdline.includes(name)) process.kill(pid, "SIGKILL");
}

describe("daemonize, pidfile and CPU pinning with the whole command", () => {
  test("QEMU daemonizes after setup, writes its pid, runs on the pinned CPU and parses back", async ({
    tempDir,
    onTestFinished,
  }) => {
    const runtimeDir = join(tempDir.path, "run3");
    await mkdir(runtimeDir, { mode: 0o700 });
    const spec: VmSpec = {
      name: "bl-daemon",
      emulator: QEMU,
      runtimeDir,
      accelerator: "tcg",
      daemonize: true,
      pidfile: {},
      qmp: {},
      cpu: { hostCpus: [0] },
      nets: [
        {
          type: "user",
          model: "e1000",
          hostForwards: [{ hostPort: await freePort(), guestPort: 22 }],
        },
      ],
      paused: true,
    };
    const command = buildCommand(spec);
    expect(command.file).toBe("taskset");
    // The parent exits 0 once QEMU is set up; the daemon keeps running.
    onTestFinished(() => killDaemon(`${runtimeDir}/qemu.pid`, "bl-daemon"));
    const parent = spawn(command.file, command.args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    parent.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const [code] = (await once(parent, "exit")) as [number | null];
    expect(code, `${formatCommandLine(command.file, command.args)}\n${stderr}`).toBe(0);
    const pid = Number((await readFile(`${runtimeDir}/qemu.pid`, "utf8")).trim());
    expect(pid).toBeGreaterThan(1);

    const status = await readFile(`/proc/${pid}/status`, "utf8");
    expect(/Cpus_allowed_list:\s*(\S+)/.exec(status)![1]).toBe("0");
    const facts = parseArgs(splitProcCmdline(await readFile(`/proc/${pid}/cmdline`, "utf8")));
    expect(facts).toEqual({ file: QEMU, ...specFacts(spec) });

    const connection = await Qmp.connect(`${runtimeDir}/qmp.sock`);
    try {
      expect(await connection.execute("query-status")).toMatchObject({ status: "prelaunch" });
      await connection.execute("quit");
      await connection.closed;
    } finally {
      connection.close();
    }
  });
});
