export { freePort } from "./free-port.js";
export { type MarkdownCodeBlock, typescriptBlocks } from "./markdown.js";
export { isAliveNow, startTimeNow, waitUntilGone } from "./processes.js";
export { QEMU, type QemuFixture, type QemuOptions, startQemu } from "./qemu.js";
export { type QmpProcess, startQmpProcess } from "./qemu-stdio.js";
export {
  QEMU7_BINARY_VARIABLE,
  QEMU10_BINARY_VARIABLE,
  QEMU10_DATA_DIR_VARIABLE,
  type QemuBuild,
  qemu7,
  qemu10,
  qemuBuilds,
} from "./qemu-versions.js";
export { SSHD, type SshdFixture, type SshdOptions, startSshd } from "./sshd.js";
export { makeTempDir, type TempDir } from "./temp-dir.js";
export { type WaitOptions, waitForPath } from "./wait-for-path.js";
