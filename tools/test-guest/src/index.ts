// The test guest: named re-exports only.
export {
  currentRecipeHash,
  defaultCacheDirectory,
  type EnsureGuestOptions,
  ensureGuest,
  type GuestProgress,
} from "./ensure-guest.js";
export {
  GuestAbortError,
  GuestBootError,
  GuestBuildError,
  GuestCommandError,
  GuestTimeoutError,
  InvalidGuestOptionError,
} from "./errors.js";
export {
  type LaunchedGuest,
  type LaunchGuestOptions,
  launchGuest,
  QEMU_BINARY,
  type QemuExit,
  type StopStage,
} from "./launch-guest.js";
export {
  type EnsureQemuOptions,
  ensureQemu,
  type FetchedQemu,
  type QemuProgress,
} from "./qemu/ensure-qemu.js";
export {
  QEMU_RELEASES,
  type QemuEntryPaths,
  type QemuRelease,
  qemuEntryPaths,
} from "./qemu/qemu-release.js";
export {
  escapeOptionValue,
  type GuestBootFiles,
  type GuestFile,
  type GuestMachine,
  type GuestNic,
  type GuestQemuOptions,
  type GuestSerial,
  guestQemuArgs,
  type HostForward,
  MAX_SOCKET_PATH_BYTES,
} from "./qemu-args.js";
export { GUEST_AGENT_PORT, GUEST_CREDENTIALS } from "./recipe.js";
export type { GuestCredentials, GuestManifest, TestGuest } from "./test-guest.js";
export { type GuestBootPaths, guestVmSpec } from "./vm-spec.js";
