import { execFile } from "node:child_process";
import { once } from "node:events";
import { createConnection } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ControlChannel, connectGuestAgent, createSerialConsole } from "@qemu-kvm/control";
import { ensureGuest, launchGuest } from "@qemu-kvm/test-guest";
import { freePort, makeTempDir } from "@qemu-kvm/testkit";
import { type Benchmark, type Trial, timeMs } from "../harness.js";

const run = promisify(execFile);

/** Round trips per sample: a sample is their mean, in ms. */
const ROUND_TRIPS = 10;

function perRoundTrip(name: string, roundTrip: () => Promise<unknown>): Trial {
  return {
    name,
    run: async () =>
      (await timeMs(async () => {
        for (let i = 0; i < ROUND_TRIPS; i++) await roundTrip();
      })) / ROUND_TRIPS,
  };
}

function channelTrial(name: string, channel: ControlChannel): Trial {
  return perRoundTrip(name, async () => {
    const result = await channel.run("true");
    if (result.exitCode !== 0) throw new Error(`${name}: true exited ${result.exitCode}`);
  });
}

/**
 * `true` in the guest, round trip from the host: over the serial console (unix
 * socket), over the guest agent, and over SSH to the guest's dropbear (through
 * QEMU's hostfwd) with the OpenSSH client, both with a persistent connection
 * (ControlMaster: one channel per command, as an SSH library would) and with a
 * new connection per command (what `ssh host true` costs).
 */
const benchmark: Benchmark = {
  name: "control",
  description: `run('true') round trip (mean of ${ROUND_TRIPS} per sample): serial console and guest agent vs SSH to the same guest`,
  async setup(signal) {
    const guest = await ensureGuest({
      signal,
      onProgress: ({ message }) => console.log(`  guest: ${message}`),
    });
    const sshPort = await freePort();
    const vm = await launchGuest(guest, {
      guestAgent: true,
      hostForwards: [{ hostPort: sshPort, guestPort: 22 }],
      signal,
    });
    const dir = await makeTempDir("qk-bench-");
    const controlPath = join(dir.path, "ssh-%C");
    const sshBase = [
      "-i",
      guest.sshPrivateKeyPath,
      "-p",
      String(sshPort),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
    ];
    const persistent = [
      ...sshBase,
      "-o",
      "ControlMaster=auto",
      "-o",
      `ControlPath=${controlPath}`,
      "-o",
      "ControlPersist=600",
    ];
    const teardowns: Array<() => Promise<unknown> | unknown> = [];
    const teardown = async () => {
      for (const step of teardowns.reverse()) await Promise.resolve(step()).catch(() => {});
      await vm.stop();
      await dir.remove();
    };
    try {
      const shell = createSerialConsole(vm.serial, { password: guest.credentials.password });
      teardowns.push(() => shell.destroy());
      await shell.login({ signal, timeoutMs: 120_000 });
      const socket = createConnection(vm.guestAgentPath!);
      await once(socket, "connect");
      const agent = await connectGuestAgent(socket, { signal, timeoutMs: 120_000 });
      teardowns.push(() => agent.destroy());
      // SSH answers once the guest has its address and dropbear listens.
      await agent.waitForNetwork({ address: "10.0.2.15", signal, timeoutMs: 60_000 });
      for (let attempt = 1; ; attempt++) {
        try {
          await run("ssh", [...persistent, "root@127.0.0.1", "true"], { signal, timeout: 30_000 });
          break;
        } catch (error) {
          if (attempt === 30) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      teardowns.push(() => run("ssh", [...persistent, "-O", "exit", "root@127.0.0.1"]));
      const sshPersistent = perRoundTrip("ssh true (OpenSSH, persistent connection)", () =>
        run("ssh", [...persistent, "root@127.0.0.1", "true"], { signal }),
      );
      const sshFresh = perRoundTrip("ssh true (OpenSSH, new connection each)", () =>
        run("ssh", [...sshBase, "root@127.0.0.1", "true"], { signal }),
      );
      return {
        cases: [
          {
            name: "control.run-true.serial",
            unit: "ms",
            runs: 9,
            warmup: 1,
            subject: channelTrial("serial console (unix socket) run('true')", shell),
            baseline: sshPersistent,
          },
          {
            name: "control.run-true.agent",
            unit: "ms",
            runs: 9,
            warmup: 1,
            subject: channelTrial("guest agent run('true')", agent),
            baseline: sshPersistent,
          },
          {
            name: "control.run-true.serial-vs-new-ssh",
            unit: "ms",
            runs: 5,
            warmup: 1,
            subject: channelTrial("serial console (unix socket) run('true')", shell),
            baseline: sshFresh,
          },
        ],
        teardown,
      };
    } catch (error) {
      await teardown();
      throw error;
    }
  },
};

export default benchmark;
