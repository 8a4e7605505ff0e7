/**
 * Setup file of the `integration-qemu-<release>` projects (vitest.shared.ts), run
 * before each test file in its worker: the `qemu-system-x86_64` found on this
 * worker's `PATH` (what the fixtures, the test guest's launcher, the facade and,
 * through testkit's sshd, SSH sessions run) is the project's release, or the file fails.
 */
import { execFileSync } from "node:child_process";

const release = process.env.QEMU_KVM_TEST_QEMU ?? "";
const version = /^QEMU emulator version (\S+)/m.exec(
  execFileSync("qemu-system-x86_64", ["--version"], { encoding: "utf8" }),
)?.[1];
if (version === undefined || !(version === release || version.startsWith(`${release}.`)))
  throw new Error(
    `the integration-qemu-${release} project runs qemu-system-x86_64 ${version} from PATH=${process.env.PATH}`,
  );
