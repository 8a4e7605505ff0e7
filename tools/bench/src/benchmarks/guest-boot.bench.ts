import { ensureGuest, launchGuest, type TestGuest } from "@qemu-kvm/test-guest";
import type { Benchmark, Trial } from "../harness.js";

const LOGIN_TIMEOUT_MS = 60_000;

/**
 * One boot: spawn QEMU (TCG, q35, virtio-net, serial held with wait=on so no byte
 * is lost), time until `login:` shows on the serial console, stop QEMU.
 */
function bootTrial(guest: TestGuest, kernel: "vmlinux" | "vmlinuz", name: string): Trial {
  return {
    name,
    async run(signal) {
      const vm = await launchGuest(guest, { kernel, signal });
      try {
        const { sinceSpawnMs } = await vm.waitForOutput(guest.credentials.loginPrompt, {
          signal,
          timeoutMs: LOGIN_TIMEOUT_MS,
        });
        return sinceSpawnMs;
      } finally {
        await vm.stop();
      }
    },
  };
}

/**
 * Time from QEMU spawn to the test guest's `login:` prompt under TCG. Subject: the
 * uncompressed vmlinux the builder extracts; baseline: Debian's xz-compressed
 * vmlinuz, which the kernel must first unpack (slow under TCG).
 */
const benchmark: Benchmark = {
  name: "guest",
  description: "test guest: QEMU spawn → login: on ttyS0 (TCG), vmlinux vs Debian's vmlinuz",
  async setup(signal) {
    const guest = await ensureGuest({
      signal,
      onProgress: ({ message }) => console.log(`  guest: ${message}`),
    });
    return {
      cases: [
        {
          name: "guest.boot-to-login",
          unit: "ms",
          runs: 5,
          subject: bootTrial(guest, "vmlinux", "uncompressed vmlinux (PVH entry)"),
          baseline: bootTrial(guest, "vmlinuz", "Debian's compressed vmlinuz"),
        },
      ],
      teardown: async () => {},
    };
  },
};

export default benchmark;
