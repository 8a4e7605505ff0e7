/**
 * Measures the guest under TCG, seconds from QEMU spawn to: `login:`, a root
 * shell (login typed as soon as the prompt shows), the agent's guest-ping answer
 * (sync retried every 250 ms from spawn), 10.0.2.15 (the guest's own stamp in
 * /run/boot.log, mapped to our clock), an SSH command run (first tried once the
 * address is known: slirp would hold a connection made earlier), and the time
 * from typing `poweroff` to QEMU's exit; for virtio-net and e1000.
 * Usage (from tools/test-guest):
 *   npx tsx --conditions=@qemu-kvm/source test/measure.ts [runs=3] [machine=q35]
 * Not a test: the README's figures come from it.
 */
import { readFile } from "node:fs/promises";
import { freePort } from "@qemu-kvm/testkit";
import { ensureGuest, type GuestNic, launchGuest } from "../src/index.js";
import { guestPing } from "./helpers/guest-agent.js";
import { waitForAddress } from "./helpers/guest-checks.js";
import { SerialSession } from "./helpers/serial-session.js";
import { sshRun } from "./helpers/ssh.js";

const runs = Number(process.argv[2] ?? 3);
const machine = (process.argv[3] ?? "q35") as "q35" | "pc";
const guest = await ensureGuest();
const columns = [
  "login:",
  "shell",
  "agent ping",
  "10.0.2.15",
  "ssh",
  "poweroff→exit",
  "QEMU RSS MiB",
] as const;
type Sample = Record<(typeof columns)[number], number>;
const results = new Map<GuestNic, Sample[]>();

const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

for (let run = 0; run < runs; run++) {
  for (const nic of ["virtio-net-pci", "e1000"] as const) {
    const port = await freePort();
    const vm = await launchGuest(guest, {
      nic,
      machine: { type: machine },
      guestAgent: true,
      hostForwards: [{ hostPort: port, guestPort: 22 }],
    });
    try {
      const session = new SerialSession(vm);
      const since = () => performance.now() - vm.spawnedAt;
      const loginSeen = vm.waitForOutput(guest.credentials.loginPrompt);
      // The agent and the console run side by side, as a facade would use them.
      const agent = guestPing(vm.guestAgentPath!, { attemptMs: 250 }).then(since);
      const login = (await loginSeen).sinceSpawnMs;
      const shell = await session.login(guest.credentials);
      // The guest's clock against ours: uptime when the answer left vs. when it arrived.
      const uptime = await session.run("cat /proc/uptime");
      const offsetMs = since() - Number.parseFloat(uptime.output) * 1000;
      await waitForAddress(session);
      // When the address came, by the guest's own stamp (the console round trips above
      // come after it and would overstate it).
      const bootLog = (await session.run("cat /run/boot.log")).output;
      const stamp = /\[([\d.]+)\] eth0 has 10\.0\.2\.15/.exec(bootLog);
      if (!stamp) throw new Error(`no address stamp in /run/boot.log:\n${bootLog}`);
      const address = offsetMs + Number.parseFloat(stamp[1]!) * 1000;
      await sshRun({ port, user: "root", privateKeyPath: guest.sshPrivateKeyPath }, "true");
      const ssh = since();
      const agentMs = await agent;
      const status = await readFile(`/proc/${vm.pid}/status`, "utf8");
      const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
      const powerStart = performance.now();
      session.write("poweroff\n");
      await vm.exited;
      const off = performance.now() - powerStart;
      const sample: Sample = {
        "login:": seconds(login),
        shell: seconds(shell),
        "agent ping": seconds(agentMs),
        "10.0.2.15": seconds(address),
        ssh: seconds(ssh),
        "poweroff→exit": seconds(off),
        "QEMU RSS MiB": Math.round(rssKiB / 1024),
      };
      console.log(nic.padEnd(15), JSON.stringify(sample));
      results.set(nic, [...(results.get(nic) ?? []), sample]);
    } finally {
      await vm.stop();
    }
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
console.log(`\nmedian of ${runs}, seconds from QEMU spawn (${machine}, vmlinux, TCG)`);
console.log(`| NIC | ${columns.join(" | ")} |`);
console.log(`|---|${columns.map(() => "---").join("|")}|`);
for (const [nic, samples] of results)
  console.log(
    `| ${nic} | ${columns
      .map((column) =>
        median(samples.map((s) => s[column])).toFixed(column.includes("MiB") ? 0 : 2),
      )
      .join(" | ")} |`,
  );
