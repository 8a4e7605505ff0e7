/** The spec as the facade runs it: the VM's own runtime files, daemonized, paused, its channels. */
import type { SerialSpec, VmSpec } from "@qemu-kvm/bootline";
import { InvalidArgumentError } from "@qemu-kvm/core";
import type { ControlKind } from "../runtime/record.js";

/** How `start` launches: `boot` waits for the guest, `quick` for QEMU only, `incoming` for a migration. */
export type StartMode = "boot" | "quick" | "incoming";

export interface PrepareSettings {
  readonly runtimeDir: string;
  readonly control: ControlKind;
  readonly uuid: string;
  /** The QEMU binary for the host's architecture, used when the spec names none. */
  readonly emulator: string;
  readonly mode: StartMode;
}

/**
 * The console, as the control choice needs it. Every VM gets a serial console
 * logged from its first byte (`log`), also when the agent is the control
 * channel: a boot that fails is reported with what the guest printed.
 */
function serialFor(spec: VmSpec, control: ControlKind): SerialSpec {
  const given = spec.serial;
  if (control === "serial-telnet") {
    if (given && given.type !== "telnet")
      throw new InvalidArgumentError(
        "options.spec.serial.type",
        '"telnet" for control "serial-telnet"',
        given.type,
      );
    return given ?? { type: "telnet", port: "auto", log: {} };
  }
  if (control === "serial-unix" && given && given.type !== "unix")
    throw new InvalidArgumentError(
      "options.spec.serial.type",
      '"unix" for control "serial-unix"',
      given.type,
    );
  return given ?? { type: "unix", log: {} };
}

/** The spec to build argv from. Throws `ERR_INVALID_ARGUMENT` when the spec contradicts the control choice. */
export function prepareSpec(spec: VmSpec, settings: PrepareSettings): VmSpec {
  const prepared: Record<string, unknown> = {
    ...spec,
    runtimeDir: settings.runtimeDir,
    uuid: spec.uuid ?? settings.uuid,
    emulator: spec.emulator ?? settings.emulator,
    daemonize: true,
    pidfile: {},
    qmp: spec.qmp ?? {},
    serial: serialFor(spec, settings.control),
    // Vcpus stopped until the controller has its console and monitor: nothing is missed.
    paused: true,
  };
  if (settings.control === "agent") prepared.guestAgent = spec.guestAgent ?? {};
  if (settings.mode === "incoming") prepared.incoming = spec.incoming ?? { type: "unix" };
  return prepared as unknown as VmSpec;
}
