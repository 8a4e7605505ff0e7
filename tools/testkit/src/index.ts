export { freePort } from "./free-port.js";
export { isAliveNow, startTimeNow, waitUntilGone } from "./processes.js";
export { QEMU, type QemuFixture, type QemuOptions, startQemu } from "./qemu.js";
export { SSHD, type SshdFixture, type SshdOptions, startSshd } from "./sshd.js";
export { makeTempDir, type TempDir } from "./temp-dir.js";
export { type WaitOptions, waitForPath } from "./wait-for-path.js";
