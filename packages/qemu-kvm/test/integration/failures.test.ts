import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { readDtsConfig } from "@qemu-kvm/bootline";
import { openPool } from "@qemu-kvm/pool";
import { expect } from "vitest";
import { createVm, VmBootError, VmCrashedError, VmLaunchError } from "../../src/index.js";
import { guestSpec, LOGIN, test } from "../helpers/fixtures.js";
import { expectNothingLeft } from "../helpers/left-behind.js";

test("a spec QEMU refuses: ERR_VM_LAUNCH with QEMU's own words, and nothing left", async ({
  host,
  env,
  guest,
}) => {
  const vm = createVm({
    host,
    spec: guestSpec(guest, "refused", { extraArgs: ["-device", "no-such-device"] }),
    login: LOGIN,
    ...env,
  });
  const error = await vm.start().catch((e: unknown) => e);
  expect(VmLaunchError.isInstance(error)).toBe(true);
  expect(error).toMatchObject({ code: "ERR_VM_LAUNCH", phase: "qemu", portBusy: false });
  expect((error as VmLaunchError).stderr).toContain("no-such-device");
  expect((error as VmLaunchError).argv).toContain("no-such-device");
  expect(vm.state).toBe("stopped");
  const { exitCode } = await host.exec("pgrep", ["-f", `${env.runtimeBase}/vms/refused`], {
    reject: false,
  });
  expect(exitCode).toBe(1);
  await using pool = await openPool(host, env.poolOptions);
  expect((await pool.leases()).owners).toEqual([]);
});

test("a port taken behind the pool's back: the start leases another and succeeds", async ({
  host,
  env,
  guest,
}) => {
  // Two forward ports to choose from; the first is taken the moment QEMU is about to bind it.
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const first = (probe.address() as { port: number }).port;
  probe.close();
  let squatter: Server | undefined;
  const vm = createVm({
    host,
    spec: guestSpec(guest, "squatted"),
    login: LOGIN,
    runtimeBase: env.runtimeBase,
    poolOptions: { ...env.poolOptions, ports: { forward: { from: first, to: first + 1 } } },
  });
  try {
    await vm.quickStart({
      onProgress: ({ phase }) => {
        // listen() on an address binds synchronously: QEMU, launched next, finds it taken.
        if (phase === "launch" && !squatter) squatter = createServer().listen(first, "127.0.0.1");
      },
    });
    expect(squatter?.listening).toBe(true);
    expect(vm.sshAddress?.port).toBe(first + 1);
    expect(vm.timeline.filter(({ phase }) => phase === "launch")).toHaveLength(2);
  } finally {
    await vm.stop({ guestTimeoutMs: 0 });
    squatter?.close();
  }
});

test("a guest that never shows a login prompt: ERR_VM_BOOT after its deadline and one retry, with the transcript", async ({
  host,
  env,
  guest,
}) => {
  const spec = guestSpec(guest, "no-login");
  const vm = createVm({
    host,
    spec: {
      ...spec,
      kernel: { ...spec.kernel!, append: `${guest.append} rdinit=/nonexistent init=/nonexistent` },
    },
    login: LOGIN,
    bootTimeoutMs: 10_000,
    ...env,
  });
  const error = await vm.start().catch((e: unknown) => e);
  expect(VmBootError.isInstance(error)).toBe(true);
  expect(error).toMatchObject({ code: "ERR_VM_BOOT", attempts: 2 });
  expect((error as VmBootError).transcript).toContain("Kernel panic");
  expect(vm.state).toBe("stopped");
  await using pool = await openPool(host, env.poolOptions);
  expect((await pool.leases()).owners).toEqual([]);
});

test("a guest that ignores the power button: stop escalates to QMP quit and says so", async ({
  host,
  env,
  guest,
}) => {
  // No kernel: the firmware finds nothing to boot and never answers ACPI.
  const { kernel: _kernel, ...spec } = guestSpec(guest, "deaf");
  const vm = createVm({ host, spec, ...env });
  await vm.quickStart();
  const traces = { pid: vm.pid!, runtimeDir: vm.runtimeDir! };
  const result = await vm.stop({ guestTimeoutMs: 2_000 });
  expect(result.stage).toBe("quit");
  expect(result.stages.map(({ stage, outcome }) => [stage, outcome])).toEqual([
    ["acpi", "timeout"],
    ["quit", "stopped"],
  ]);
  await expectNothingLeft(host, env, traces);
});

test("QEMU killed while exec waits: the call rejects at once, the VM is crashed, its leases freed", async ({
  host,
  env,
  guest,
}) => {
  const vm = createVm({ host, spec: guestSpec(guest, "killed"), login: LOGIN, ...env });
  await vm.start();
  const traces = { pid: vm.pid!, runtimeDir: vm.runtimeDir! };
  const waiting = vm.exec("sleep 600", { timeoutMs: 600_000 });
  process.kill(vm.pid!, "SIGKILL");
  const error = await waiting.catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "ERR_VM_CRASHED" });
  expect(VmCrashedError.isInstance(error)).toBe(true);
  expect(vm.state).toBe("crashed");
  expect(await vm.status()).toEqual({ state: "crashed" });
  expect((await vm.stop()).stage).toBe("not-running");
  await expectNothingLeft(host, env, traces);
});

test("a DTS section with migration and a telnet console starts, every port it asks for leased", async ({
  host,
  env,
  guest,
}) => {
  const config = [
    "[backup]",
    "cpu = model=qemu64,number=1;",
    "mem = size=256;",
    "control = type=telnet;",
    "migration = enable=yes;",
    "login = user=root,password=qemu-kvm;",
    "vnc = disable=True;",
  ].join("\n");
  const dts = readDtsConfig(config).get("backup")!;
  const spec = {
    ...dts.spec,
    ...guestSpec(guest, "backup"),
    serial: dts.spec.serial,
    incoming: dts.spec.incoming,
  };
  await using pool = await openPool(host, env.poolOptions);
  await using vm = createVm({ host, dts: { ...dts, spec }, pool, runtimeBase: env.runtimeBase });
  await vm.start();
  expect(vm.state).toBe("paused");
  expect((await vm.status()).runState).toBe("inmigrate");
  const kinds = (await pool.leases()).leases.flatMap((lease) =>
    lease.type === "port" ? [lease.kind] : [],
  );
  expect(kinds.sort()).toEqual(["forward", "migration", "serial"]);
  // The telnet console and the TCP migration target are open to every local user: said.
  expect(vm.warnings.map((warning) => [warning.code, warning.field])).toEqual(
    expect.arrayContaining([
      ["WARN_BOOTLINE_TCP_LISTENER", "serial.type"],
      ["WARN_BOOTLINE_TCP_LISTENER", "incoming.type"],
    ]),
  );
});

test("two VMs started at once on one pool get distinct ports", async ({ host, env, guest }) => {
  await using pool = await openPool(host, env.poolOptions);
  const first = createVm({
    host,
    spec: guestSpec(guest, "twin-a"),
    pool,
    runtimeBase: env.runtimeBase,
  });
  const second = createVm({
    host,
    spec: guestSpec(guest, "twin-b"),
    pool,
    runtimeBase: env.runtimeBase,
  });
  try {
    await Promise.all([first.quickStart(), second.quickStart()]);
    expect(first.sshAddress?.port).not.toBe(second.sshAddress?.port);
    const ports = (await pool.leases()).leases.map((lease) =>
      lease.type === "port" ? lease.port : 0,
    );
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(2);
  } finally {
    // Just started: the guest has no power button handler yet, so no time is given to it.
    await Promise.all([first.stop({ guestTimeoutMs: 0 }), second.stop({ guestTimeoutMs: 0 })]);
  }
});
