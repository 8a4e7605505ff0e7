import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "vitest";
import { attachVm, createVm, listVms, vmsUsingPath } from "../../src/index.js";
import { guestSpec, LOGIN, test } from "../helpers/fixtures.js";
import { expectNothingLeft } from "../helpers/left-behind.js";

const run = promisify(execFile);
const child = fileURLToPath(new URL("../helpers/start-and-exit.ts", import.meta.url));

test("attachVm from another process after the one that started the VM exited, then stop", async ({
  host,
  env,
  guest,
}) => {
  const options = { spec: guestSpec(guest, "adopted"), login: LOGIN, ...env };
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "--conditions=@qemu-kvm/source", child, JSON.stringify(options)],
    { timeout: 300_000 },
  );
  const started = JSON.parse(stdout.trim().split("\n").pop()!) as {
    pid: number;
    runtimeDir: string;
    uuid: string;
  };
  expect(await host.isAlive(started.pid)).toBe(true);

  const vm = await attachVm(host, "adopted", { login: LOGIN, ...env });
  try {
    expect(vm.pid).toBe(started.pid);
    expect(vm.uuid).toBe(started.uuid);
    expect(vm.state).toBe("running");
    expect((await vm.exec("echo attached")).output).toBe("attached\n");
  } finally {
    const result = await vm.stop();
    expect(result.stage).toBe("guest");
  }
  await expectNothingLeft(host, env, started);
});

test("attachVm of a VM that is not there: ERR_VM_NOT_FOUND", async ({ host, env }) => {
  await expect(attachVm(host, "nowhere", env)).rejects.toMatchObject({ code: "ERR_VM_NOT_FOUND" });
});

test("listVms shows the VMs this library started and other QEMUs; vmsUsingPath finds who boots a file", async ({
  host,
  env,
  guest,
  launchQemu,
}) => {
  const vm = createVm({ host, spec: guestSpec(guest, "listed"), ...env });
  await vm.quickStart();
  try {
    const foreign = await launchQemu();
    const listings = await listVms(host, { runtimeBase: env.runtimeBase });
    const mine = listings.find((listing) => listing.name === "listed");
    expect(mine).toMatchObject({ kind: "managed", pid: vm.pid });
    expect(mine?.facts.hostForwards[0]?.hostPort).toBe(vm.sshAddress?.port);
    expect(mine?.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(listings.find((listing) => listing.pid === foreign.pid)).toMatchObject({
      kind: "foreign",
    });
    const users = await vmsUsingPath(host, guest.kernelPath, { runtimeBase: env.runtimeBase });
    expect(users.map((listing) => listing.name)).toContain("listed");
  } finally {
    // Just started: no time for the guest's power button.
    await vm.stop({ guestTimeoutMs: 0 });
  }
});
