/**
 * The `qemu-kvm` command, run as a process (from source, as `pnpm demo` runs
 * it) against the real test guest, with the test's private runtime base and
 * pool directory.
 */
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLocalHost, type Host } from "@qemu-kvm/host";
import { expect, onTestFinished } from "vitest";
import type { PsRow } from "../../src/cli/ps-format.js";
import type { StartSummary } from "../../src/cli/start.js";
import { type Cli, cliTest as test } from "../helpers/cli.js";
import { guestSpec, LOGIN } from "../helpers/fixtures.js";
import { expectNothingLeft } from "../helpers/left-behind.js";

const PASSWORD = { QEMU_KVM_PASSWORD: LOGIN.password };

/**
 * The demo keeps its VM in its own temporary directory: if it failed to clean
 * up, this does (the test's own host is closed by then; its start time names the QEMU).
 */
async function cleanUpDemo(
  pid: number,
  startTime: bigint | undefined,
  work: string,
): Promise<void> {
  if (startTime !== undefined) {
    await using host = createLocalHost();
    await host.kill(pid, "SIGKILL", { startTime });
  }
  await rm(work, { recursive: true, force: true });
}

/**
 * `qemu-kvm demo` spawned and past its start: its QEMU's pid and its temporary
 * directory, cleaned up after the test should the demo fail to.
 */
async function demoRunning(cli: Cli, host: Host) {
  const demo = cli.spawn(["demo"]);
  await demo.waitForOutput("2. on the serial console");
  const pid = Number(/ {3}pid (\d+),/.exec(demo.stdout())![1]);
  const work = /runtime directory (\/\S+)\/rt\/vms\/demo/.exec(demo.stdout())![1]!;
  const startTime = (await host.processInfo(pid))?.startTime;
  onTestFinished(() => cleanUpDemo(pid, startTime, work));
  return { demo, pid, work };
}

test("start, ps, exec, monitor, console and stop: a VM's life from the command line, nothing left", async ({
  cli,
  guest,
  tempDir,
  host,
  env,
}) => {
  const spec = join(tempDir.path, "vm.json");
  await writeFile(spec, JSON.stringify(guestSpec(guest, "cli-vm")));
  const passwordFile = join(tempDir.path, "password");
  await writeFile(passwordFile, `${LOGIN.password}\n`, { mode: 0o600 });

  const started = await cli.run(["start", spec, "--password-file", passwordFile]);
  expect(started).toMatchObject({ exitCode: 0, stderr: "" }); // no progress on a pipe
  expect(started.stdout).toMatch(
    /^cli-vm started in \d+\.\d\d s: the guest is ready\n {2}pid {6}\d+/,
  );

  const again = await cli.run(["start", spec, "--password-file", passwordFile]);
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toContain("qemu-kvm: ERR_VM_EXISTS: a VM named cli-vm is already running");

  // Not a terminal: JSON, the same as --json.
  const listed = await cli.run(["ps"]);
  expect(listed.exitCode).toBe(0);
  const rows = JSON.parse(listed.stdout) as PsRow[];
  expect(rows).toEqual([
    expect.objectContaining({
      name: "cli-vm",
      kind: "managed",
      state: "running",
      cpus: 1,
      control: "serial-unix",
      runtimeDir: join(env.runtimeBase, "vms", "cli-vm"),
    }),
  ]);
  const [row] = rows;
  expect(row!.ports).toEqual([
    { kind: "forward", protocol: "tcp", host: "127.0.0.1", port: row!.ssh!.port, guestPort: 22 },
  ]);
  expect(JSON.parse((await cli.run(["ps", "--json"])).stdout)).toEqual([
    { ...row, uptimeSeconds: expect.any(Number) },
  ]);
  const table = await cli.run(["ps", "--table"]);
  expect(table.stdout.split("\n")[0]).toMatch(/^NAME +STATE +PID +CPUS +UPTIME +PORTS$/);
  expect(table.stdout.split("\n")[1]).toMatch(
    new RegExp(`^cli-vm +running +${row!.pid} +1 +\\d+s +127\\.0\\.0\\.1:${row!.ssh!.port}→22$`),
  );

  // exec: the guest command's output and its own exit status.
  const failing = await cli.run(
    ["exec", "cli-vm", "--", "sh", "-c", "echo out; echo err >&2; exit 3"],
    { env: PASSWORD },
  );
  expect(failing).toMatchObject({ exitCode: 3, stdout: "out\nerr\n", stderr: "" });
  expect(await cli.run(["exec", "cli-vm", "--", "uname", "-s"], { env: PASSWORD })).toMatchObject({
    exitCode: 0,
    stdout: "Linux\n",
  });
  const arguments_ = await cli.run(["exec", "cli-vm", "--", "printf", "[%s]", "a b", "$(id)"], {
    env: PASSWORD,
  });
  expect(arguments_.stdout).toBe("[a b][$(id)]"); // each word as it was, no shell in between
  expect(
    (await cli.run(["exec", "cli-vm", "--", "no-such-command"], { env: PASSWORD })).exitCode,
  ).toBe(127);

  // monitor: QMP as JSON, HMP as text, a refused command with its code.
  const status = await cli.run(["monitor", "cli-vm", "query-status"]);
  expect(status.exitCode).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ status: "running", running: true });
  const chardev = await cli.run(["monitor", "cli-vm", "query-chardev"]);
  expect(JSON.parse(chardev.stdout)).toContainEqual(expect.objectContaining({ label: "char-qmp" }));
  expect(await cli.run(["monitor", "cli-vm", "--hmp", "info status"])).toMatchObject({
    exitCode: 0,
    stdout: "VM status: running\n",
  });
  const refused = await cli.run(["monitor", "cli-vm", "query-nothing"]);
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toContain("qemu-kvm: ERR_QMP_COMMAND:");

  // console: the guest's console as it is (logged out by the last exec), until Ctrl-].
  const console = cli.spawn(["console", "cli-vm"]);
  console.child.stdin!.write("\n");
  await console.waitForOutput("login:");
  console.child.stdin!.write(Buffer.from([0x1d]));
  expect(await console.done).toMatchObject({ exitCode: 0, stderr: "" });

  const stopped = await cli.run(["stop", "cli-vm"], { env: PASSWORD });
  expect(stopped).toMatchObject({ exitCode: 0, stderr: "" });
  expect(stopped.stdout).toMatch(
    /^cli-vm stopped in \d+\.\d\d s: the guest powered off when asked\n$/,
  );
  expect(JSON.parse((await cli.run(["ps"])).stdout)).toEqual([]);
  await expectNothingLeft(host, env, { pid: row!.pid, runtimeDir: row!.runtimeDir! });

  const gone = await cli.run(["stop", "cli-vm"]);
  expect(gone.exitCode).toBe(1);
  expect(gone.stderr).toContain("qemu-kvm: ERR_VM_NOT_FOUND: no running VM cli-vm");
  expect(gone.stderr).toContain("what to do: `qemu-kvm ps` lists the VMs");
  const execGone = await cli.run(["exec", "cli-vm", "--", "true"]);
  expect(execGone.exitCode).toBe(125);
  expect(execGone.stderr).toContain("ERR_VM_NOT_FOUND");
});

test("start --quick --json from YAML with --name; stop --guest-timeout 0 goes to QMP quit", async ({
  cli,
  guest,
  tempDir,
  host,
  env,
}) => {
  const spec = join(tempDir.path, "vm.yaml");
  const { kernel } = guestSpec(guest, "x");
  await writeFile(
    spec,
    [
      "name: from-yaml",
      "accelerator: tcg",
      "memory: { sizeMiB: 128 }",
      "kernel:",
      `  path: ${kernel!.path}`,
      `  initrdPath: ${kernel!.initrdPath}`,
      `  append: "${kernel!.append}"`,
      "nets:",
      "  - type: user",
      "    hostForwards: [{ hostPort: auto, guestPort: 22 }]",
      "display: { type: none }",
      "",
    ].join("\n"),
  );
  const started = await cli.run(["start", spec, "--name", "quick-vm", "--quick", "--json"]);
  expect(started.exitCode, started.stderr).toBe(0);
  const summary = JSON.parse(started.stdout) as StartSummary;
  expect(summary).toMatchObject({
    name: "quick-vm",
    mode: "quick",
    control: "serial-unix",
    ssh: { host: "127.0.0.1", port: expect.any(Number) },
    console: join(env.runtimeBase, "vms", "quick-vm", "serial.sock"),
    runtimeDir: join(env.runtimeBase, "vms", "quick-vm"),
  });
  expect(summary.timeline.map(({ phase }) => phase)).toEqual(
    expect.arrayContaining(["leases", "launch", "qmp", "console"]),
  );
  expect(await host.isAlive(summary.pid)).toBe(true);

  const stopped = await cli.run(["stop", "quick-vm", "--guest-timeout", "0"]);
  expect(stopped.exitCode, stopped.stderr).toBe(0);
  expect(stopped.stdout).toContain("quick-vm stopped in");
  expect(stopped.stdout).toContain("QEMU quit when asked over QMP");
  await expectNothingLeft(host, env, summary);
});

test("argv prints the command line start would run, from JSON and from a DTS config", async ({
  cli,
  guest,
  tempDir,
  env,
}) => {
  const spec = join(tempDir.path, "vm.json");
  await writeFile(spec, JSON.stringify(guestSpec(guest, "shown")));
  const shown = await cli.run(["argv", spec]);
  expect(shown.exitCode, shown.stderr).toBe(0);
  const dir = join(env.runtimeBase, "vms", "shown");
  expect(shown.stdout).toMatch(/^qemu-system-x86_64 -name shown -uuid [0-9a-f-]{36} /);
  for (const part of [
    `-pidfile ${dir}/qemu.pid -daemonize -S`,
    `path=${dir}/qmp.sock,server=on,wait=off`,
    `logfile=${dir}/serial.log`,
    "hostfwd=tcp:127.0.0.1:6000-:22",
    `-append '${guest.append}'`,
  ])
    expect(shown.stdout).toContain(part);
  expect(shown.stdout.trim().split("\n")).toHaveLength(1);
  expect(shown.stderr).toContain(
    'qemu-kvm: note: nets[0].hostForwards[0].hostPort is "auto" (a forward port): shown as 6000',
  );

  const cfg = join(tempDir.path, "dts.cfg");
  await writeFile(
    cfg,
    "[vm0]\ncpu = model=qemu64,number=2;\nmem = size=512;\ncontrol = type=telnet,port=7123;\nvnc = disable=True;\n",
  );
  const dts = await cli.run(["argv", cfg, "--name", "dts-vm"]);
  expect(dts.exitCode, dts.stderr).toBe(0);
  expect(dts.stdout).toContain("-name dts-vm ");
  expect(dts.stdout).toContain("-smp 2");
  expect(dts.stdout).toContain("host=127.0.0.1,port=7123,telnet=on,server=on,wait=off");
  // The spec on unix sockets warns of nothing; the DTS telnet console is open to local users.
  expect(shown.stderr).not.toContain("warning");
  expect(dts.stderr).toContain("qemu-kvm: warning: WARN_BOOTLINE_TCP_LISTENER: ");
  expect(dts.stderr).toContain("(serial.type)");
});

test("a bad command line is a usage error (exit 2, its code, where to look); exec's own failures are 125", async ({
  cli,
  tempDir,
}) => {
  const bad = join(tempDir.path, "bad.json");
  await writeFile(bad, JSON.stringify({ name: "bad", memory: { sizeMiB: -1 } }));
  for (const [args, message] of [
    [["ps", "--colour"], "qemu-kvm: ERR_INVALID_ARGUMENT: unknown option '--colour'"],
    [["start", join(tempDir.path, "missing.json")], "cannot be read"],
    [["start", bad, "--timeout", "soon"], "--timeout takes a duration"],
    [["start", bad], "qemu-kvm: ERR_BOOTLINE_INVALID_SPEC: invalid VM spec: memory.sizeMiB"],
    [["frob"], "unknown command 'frob'"],
    [["stop"], "missing required argument 'name'"],
  ] as const) {
    const result = await cli.run(args);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("what to do:");
    expect(result.stdout).toBe("");
  }
  const usage = await cli.run([]);
  expect(usage).toMatchObject({ exitCode: 2, stdout: "" });
  expect(usage.stderr).toContain("Usage: qemu-kvm");
  const help = await cli.run(["monitor", "--help"]);
  expect(help).toMatchObject({ exitCode: 0, stderr: "" });
  expect(help.stdout).toContain("Usage: qemu-kvm monitor [options] <name> <command> [arguments]");

  const execUsage = await cli.run(["exec", "vm0", "ls", "-l"]);
  expect(execUsage.exitCode).toBe(125);
  expect(execUsage.stderr).toContain("go after --");
});

test("a VM on an SSH host: start, ps, exec and stop with --host", async ({
  cli,
  guest,
  tempDir,
  sshd,
  host,
  env,
}) => {
  const spec = join(tempDir.path, "vm.json");
  await writeFile(spec, JSON.stringify(guestSpec(guest, "over-ssh")));
  const remote = [
    "--host",
    `${sshd.user}@${sshd.host}:${sshd.port}`,
    "--identity",
    sshd.privateKeyPath,
    "--known-hosts",
    sshd.knownHostsPath,
  ];
  const started = await cli.run(["start", spec, ...remote], { env: PASSWORD });
  expect(started.exitCode, started.stderr).toBe(0);
  const [row] = JSON.parse((await cli.run(["ps", ...remote])).stdout) as PsRow[];
  expect(row).toMatchObject({ name: "over-ssh", state: "running" });
  expect(
    await cli.run(["exec", "over-ssh", ...remote, "--", "cat", "/proc/sys/kernel/hostname"], {
      env: PASSWORD,
    }),
  ).toMatchObject({ exitCode: 0, stdout: "guest\n" });
  const stopped = await cli.run(["stop", "over-ssh", ...remote], { env: PASSWORD });
  expect(stopped.exitCode, stopped.stderr).toBe(0);
  await expectNothingLeft(host, env, { pid: row!.pid, runtimeDir: row!.runtimeDir! });

  const stranger = await cli.run(["ps", ...remote.slice(0, 4)]);
  expect(stranger.exitCode).toBe(1); // the host key is not in ~/.ssh/known_hosts
  expect(stranger.stderr).toMatch(/qemu-kvm: ERR_HOST_\w+:/);
});

test("demo: the test guest started, logged in, commands, the agent, SSH, the stop, nothing left", async ({
  cli,
}) => {
  const { exitCode, stdout, stderr } = await cli.run(["demo"]);
  expect(exitCode, `${stdout}\n${stderr}`).toBe(0);
  expect(stderr).toBe("");
  for (const part of [
    "1. start (q35, 256 MiB, virtio-net, serial console + guest agent): ready in",
    "   login ",
    "   network ",
    "2. on the serial console, logged in as root",
    "   $ uname -a\n   Linux guest 6.1.",
    "   $ ip address",
    "inet 10.0.2.15/24",
    "3. the guest agent's view\n   qemu-ga ",
    "   eth0   52:54:00:12:34:56  10.0.2.15/24",
    "4. over SSH: vm.guest(), through 127.0.0.1:",
    "   $ id\n   uid=0(root)",
    "5. stop\n   demo stopped in",
    "the guest powered off when asked",
    "6. nothing left\n   QEMU pid ",
    "the pool holds no lease",
  ])
    expect(stdout).toContain(part);
  const uuids = stdout.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g);
  expect(uuids).toHaveLength(2);
  expect(uuids![0]).toBe(uuids![1]); // the guest's DMI UUID over SSH is the VM's
  const work = /temporary directory (\S+) is removed/.exec(stdout)![1]!;
  expect(existsSync(work)).toBe(false);
});

test("demo interrupted (SIGINT) while its VM runs: the VM is stopped, its directory removed, exit 130", async ({
  cli,
  host,
}) => {
  const { demo, pid, work } = await demoRunning(cli, host);
  expect(await host.isAlive(pid)).toBe(true);
  demo.child.kill("SIGINT");
  const result = await demo.done;
  expect(result.exitCode, result.stderr).toBe(130);
  expect(result.stderr).toContain("ERR_ABORTED");
  expect(await host.isAlive(pid)).toBe(false);
  expect(existsSync(work)).toBe(false);
});

test("demo whose reader goes away (EPIPE, as `| head` does): the VM is stopped all the same, exit 1", async ({
  cli,
  host,
}) => {
  const { demo, pid, work } = await demoRunning(cli, host);
  demo.child.stdout!.destroy(); // the demo's next write fails
  const result = await demo.done;
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stderr).toContain("qemu-kvm: EPIPE");
  expect(await host.isAlive(pid)).toBe(false);
  expect(existsSync(work)).toBe(false);
});
