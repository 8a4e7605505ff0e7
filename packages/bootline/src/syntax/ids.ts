/**
 * The QEMU ids this package gives to what it creates. Each is a fixed prefix naming
 * the kind plus, for lists, the index in the spec's list: `nets[2]` gets netdev
 * `net2` and device `nic2`, whatever the other entries are. No prefix followed by
 * digits can equal another, so ids never collide, and the same spec always gets the
 * same ids (NICs and netdevs are paired by their entry, never by a counter).
 */

export const ids = {
  /** `-netdev` of `nets[index]`. */
  netdev: (index: number) => `net${index}`,
  /** NIC `-device` of `nets[index]`. */
  nic: (index: number) => `nic${index}`,
  /** `-chardev` of a vhost-user `nets[index]`. */
  netChardev: (index: number) => `char-net${index}`,
  /** `-drive` of `drives[index]` (the block backend name in `query-block`). */
  drive: (index: number) => `drive${index}`,
  /** `-drive if=pflash` of `pflash[index]`. */
  pflash: (index: number) => `pflash${index}`,
  /** `-device vfio-pci` (or `pci-assign`) of `passthrough[index]`. */
  passthrough: (index: number) => `pt${index}`,
  /** `-chardev` of a vhost-user `crypto[index]`. */
  cryptoChardev: (index: number) => `char-crypto${index}`,
  /** `-object cryptodev-…` of `crypto[index]`. */
  cryptoBackend: (index: number) => `cryptodev${index}`,
  /** `-device virtio-crypto-pci` of `crypto[index]`. */
  cryptoDevice: (index: number) => `crypto${index}`,
  /** `-object memory-backend-…` of the guest RAM. */
  memoryBackend: "mem0",
  /** `-chardev` of the QMP monitor. */
  qmpChardev: "char-qmp",
  /** `-chardev` of the HMP monitor. */
  monitorChardev: "char-monitor",
  /** `-chardev` of the serial console. */
  serialChardev: "char-serial0",
  /** `-chardev` of the guest agent channel. */
  guestAgentChardev: "char-qga0",
  /** `-device virtio-serial-pci` carrying the guest agent port. */
  virtioSerial: "virtio-serial0",
  /** `-device virtserialport` named `org.qemu.guest_agent.0`. */
  guestAgentPort: "qga0",
  /** `-object rng-random` feeding the random-number device. */
  rngBackend: "rng0",
  /** `-device virtio-rng-pci`. */
  rngDevice: "virtio-rng0",
} as const;

/** The name of the guest agent's virtio-serial port, fixed by the agent itself. */
export const GUEST_AGENT_PORT_NAME = "org.qemu.guest_agent.0";

/** QEMU's rule for ids: a letter, then letters, digits, `-`, `.`, `_`. */
export const QEMU_ID = /^[A-Za-z][A-Za-z0-9_.-]*$/;
