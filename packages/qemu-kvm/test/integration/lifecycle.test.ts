import { describe, expect } from "vitest";
import { type ControlKind, createVm } from "../../src/index.js";
import { guestSpec, LOGIN, test } from "../helpers/fixtures.js";
import { expectNothingLeft } from "../helpers/left-behind.js";

describe.each<ControlKind>(["serial-unix", "serial-telnet", "agent"])("control %s", (control) => {
  test("start → ready → exec → network → vm.guest() over SSH → stop, nothing left behind", async ({
    guest,
    host,
    env,
  }) => {
    await using vm = createVm({
      host,
      spec: guestSpec(guest, `life-${control}`),
      control,
      login: LOGIN,
      ...env,
      network: { address: "10.0.2.15" },
    });
    const phases: string[] = [];
    await vm.start({ onProgress: (progress) => phases.push(progress.phase) });
    console.log(
      vm.timeline.map((entry) => `${entry.phase} ${entry.elapsedMs.toFixed(0)}`).join(", "),
    );
    expect(vm.state).toBe("running");
    expect(phases).toEqual(
      expect.arrayContaining(["leases", "launch", "qmp", "boot", "network", "ready"]),
    );
    // On a console, the login begins when its prompt shows, after the boot.
    if (control !== "agent")
      expect(phases.slice(phases.indexOf("boot"))).toEqual([
        "boot",
        "login",
        "network",
        "pci-map",
        "ready",
      ]);

    const result = await vm.exec("echo hello; uname -s; sh -c 'exit 3'");
    expect(result).toMatchObject({ exitCode: 3, output: "hello\nLinux\n" });
    expect((await vm.exec("ip -4 -o addr show")).output).toContain("10.0.2.15");
    expect((await vm.status()).runState).toBe("running");
    expect(vm.sshAddress?.port).toBeGreaterThan(0);

    await using inside = await vm.guest();
    const { stdout } = await inside.exec("cat", ["/sys/class/dmi/id/product_uuid"]);
    expect(stdout.trim().toLowerCase()).toBe(vm.uuid);
    await inside.close();

    const traces = { pid: vm.pid!, runtimeDir: vm.runtimeDir! };
    const stopped = await vm.stop();
    expect(stopped.stage).toBe("guest");
    expect(vm.state).toBe("stopped");
    await expectNothingLeft(host, env, traces);
  });
});
