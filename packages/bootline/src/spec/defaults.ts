/** The defaults the builder applies: runtime file names, the emulator, the listen address. */

/** Default path names inside `runtimeDir`. */
export const runtimeFileNames = {
  pidfile: "qemu.pid",
  qmp: "qmp.sock",
  monitor: "monitor.sock",
  serial: "serial.sock",
  serialLog: "serial.log",
  guestAgent: "qga.sock",
  vnc: "vnc.sock",
  incoming: "incoming.sock",
  crypto: (index: number) => `crypto${index}.sock`,
} as const;

/** VNC display N listens on TCP port 5900 + N. */
export const VNC_BASE_PORT = 5900;

export const DEFAULT_EMULATOR = "qemu-system-x86_64";
export const DEFAULT_HOST = "127.0.0.1";
/** The entropy source of an `rng` device. */
export const DEFAULT_RNG_SOURCE = "/dev/urandom";
