import { execFileSync } from "node:child_process";
import { connectSshHost } from "@qemu-kvm/host";
import { expect } from "vitest";
import { createVm } from "../../src/index.js";
import { guestSpec, LOGIN, test } from "../helpers/fixtures.js";
import { expectNothingLeft } from "../helpers/left-behind.js";

test("a VM on an SSH host: boot files copied once, start, exec, the guest as a host through it, stop", async ({
  sshd,
  env,
  guest,
}) => {
  await using remote = await connectSshHost({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.privateKey,
    hostKey: { knownHostsFile: sshd.knownHostsPath },
  });
  const vm = createVm({
    host: remote,
    spec: guestSpec(guest, "remote"),
    login: LOGIN,
    bootFiles: "copy",
    ...env,
  });
  await vm.start();
  try {
    // Started through sshd, whose sessions get the tests' PATH (testkit's fixture): the same
    // QEMU as a local start, i.e. the test matrix's (7.2, or 10.0 in integration-qemu-10.0).
    const local = execFileSync("qemu-system-x86_64", ["--version"], { encoding: "utf8" });
    const { major, minor, micro } = vm.qmp.version.qemu;
    expect(local).toContain(`QEMU emulator version ${major}.${minor}.${micro} `);
    expect(vm.record?.argv.join(" ")).toContain(`${env.runtimeBase}/cache/`);
    expect((await vm.exec("uname -s")).output).toBe("Linux\n");
    await using inside = await vm.guest();
    expect((await inside.exec("hostname")).stdout.trim().length).toBeGreaterThan(0);
  } finally {
    const traces = { pid: vm.pid!, runtimeDir: vm.runtimeDir! };
    await vm.stop();
    await expectNothingLeft(remote, env, traces);
  }
  // The next start copies nothing: the cache holds the files by content.
  const cached = await remote.readDir(`${env.runtimeBase}/cache`);
  const before = await Promise.all(
    cached.map((entry) => remote.stat(`${env.runtimeBase}/cache/${entry.name}`)),
  );
  const again = createVm({
    host: remote,
    spec: guestSpec(guest, "remote"),
    login: LOGIN,
    bootFiles: "copy",
    ...env,
  });
  await again.quickStart();
  await again.stop({ guestTimeoutMs: 0 });
  const after = await Promise.all(
    cached.map((entry) => remote.stat(`${env.runtimeBase}/cache/${entry.name}`)),
  );
  expect(cached.map((entry) => entry.name).sort()).toEqual(
    (await remote.readDir(`${env.runtimeBase}/cache`)).map((entry) => entry.name).sort(),
  );
  expect(after.map((stat) => stat?.mtimeMs)).toEqual(before.map((stat) => stat?.mtimeMs));
});
