/** What `createVm` takes, checked before anything runs. */
import type { DtsVm, VmSpec } from "@qemu-kvm/bootline";
import {
  checkObject,
  checkOptionKeys,
  checkTimeoutMs,
  InvalidArgumentError,
  isVmName,
  VM_NAME_RULE,
} from "@qemu-kvm/core";
import type { Host, HostKeyPolicy } from "@qemu-kvm/host";
import type { PoolOptions, ResourcePool } from "@qemu-kvm/pool";
import type { ControlKind } from "../runtime/record.js";

/** The account the controller logs in with on the serial console. */
export interface LoginOptions {
  /** Default `root`. */
  readonly user?: string;
  readonly password?: string;
}

/** How `vm.guest()` reaches the guest's SSH server (through the VM's forwarded port). */
export interface GuestSshOptions {
  /** Default: the console login's user, else `root`. */
  readonly user?: string;
  /** Default: the console login's password. */
  readonly password?: string;
  /** An OpenSSH private key (PEM or OpenSSH format). */
  readonly privateKey?: string | Buffer;
  /**
   * How to trust the guest's host key: a policy of `@qemu-kvm/host`
   * (`{ fingerprint }`, `{ knownHostsFile }`), or `"from-guest"` (default): read
   * the guest's public host keys over the control channel, which is already
   * trusted (it checked the guest's UUID), and pin them.
   */
  readonly hostKey?: HostKeyPolicy | "from-guest";
  /** The guest port SSH listens on, whose host forward is used. Default 22. */
  readonly port?: number;
}

/** What to wait for after the guest is up. */
export interface NetworkWait {
  /** This address (e.g. `10.0.2.15`). Default: any IPv4 address outside 127.0.0.0/8. */
  readonly address?: string;
  /** Only on this interface (e.g. `eth0`). */
  readonly interfaceName?: string;
}

export interface CreateVmOptions {
  /** Where QEMU runs: `createLocalHost()`, or `await connectSshHost(…)`. */
  readonly host: Host;
  /** The VM, as a spec. Its `name` names the VM (its runtime directory, its pool owner). */
  readonly spec?: VmSpec;
  /**
   * Or a section of a DTS config (`readDtsConfig(text)` gives them): its spec,
   * login, start settings and control channel are taken as DTS set them.
   */
  readonly dts?: DtsVm;
  /**
   * How the controller reaches the guest: `serial-unix` (default: the serial
   * console on a unix socket in the VM's private directory), `serial-telnet`
   * (the console on a loopback TCP port: other local users can connect to it),
   * or `agent` (the QEMU guest agent). A DTS section brings its own.
   */
  readonly control?: ControlKind;
  /** The console login (serial control). Default `root` without a password. */
  readonly login?: LoginOptions;
  /**
   * The pool the VM's ports, CPUs and PCI devices are leased from. Default: one
   * opened on `host` with `poolOptions` at `start()` and closed at `stop()`.
   */
  readonly pool?: ResourcePool;
  readonly poolOptions?: PoolOptions;
  /** The per-host base of runtime directories. Default: see the README (`/run/qemu-kvm` for root). */
  readonly runtimeBase?: string;
  /** `vm.guest()`'s SSH login. */
  readonly guestSsh?: GuestSshOptions;
  /**
   * Deadline of one boot, from `cont` to a ready guest with its network. A boot
   * that misses it is stopped and tried once more with fresh leases. Default
   * 120 000 (a DTS section's `start = wait_seconds=` when given).
   */
  readonly bootTimeoutMs?: number;
  /** Wait for the guest's management network at start (default: any IPv4), or `false`. */
  readonly network?: NetworkWait | false;
  /**
   * Where the spec's kernel, initrd and read-only disk paths are: `host`
   * (default: on the machine QEMU runs on), or `copy`: on this machine, copied
   * to the host's content-addressed cache before the start (once).
   */
  readonly bootFiles?: "host" | "copy";
}

const KEYS = [
  "host",
  "spec",
  "dts",
  "control",
  "login",
  "pool",
  "poolOptions",
  "runtimeBase",
  "guestSsh",
  "bootTimeoutMs",
  "network",
  "bootFiles",
];

/** The options, checked and with the DTS section's settings folded in. */
export interface ResolvedVmOptions {
  readonly host: Host;
  readonly spec: VmSpec;
  readonly name: string;
  readonly control: ControlKind;
  readonly login: { readonly user: string; readonly password?: string };
  readonly pool?: ResourcePool;
  readonly poolOptions?: PoolOptions;
  readonly runtimeBase?: string;
  readonly guestSsh: GuestSshOptions;
  readonly bootTimeoutMs: number;
  readonly network: NetworkWait | false;
  readonly bootFiles: "host" | "copy";
  /** Made by `attachVm`: it has no spec to start again from. */
  readonly attached?: boolean;
}

const DTS_CONTROL: Readonly<Record<DtsVm["control"], ControlKind>> = {
  qga: "agent",
  telnet: "serial-telnet",
  socket: "serial-unix",
};

function checkControl(value: unknown): asserts value is ControlKind | undefined {
  if (
    value !== undefined &&
    value !== "serial-unix" &&
    value !== "serial-telnet" &&
    value !== "agent"
  )
    throw new InvalidArgumentError(
      "options.control",
      '"serial-unix", "serial-telnet" or "agent"',
      value,
    );
}

/** Checks `createVm`'s options (synchronously: nothing has run). */
export function resolveVmOptions(options: CreateVmOptions): ResolvedVmOptions {
  checkObject(options, "options");
  checkOptionKeys(options, KEYS);
  const { host, spec, dts } = options;
  if (typeof host !== "object" || host === null || typeof host.exec !== "function")
    throw new InvalidArgumentError(
      "options.host",
      "a Host (createLocalHost(), connectSshHost())",
      host,
    );
  if ((spec === undefined) === (dts === undefined))
    throw new InvalidArgumentError("options.spec", "a spec or a DTS section (one of them)", spec, {
      problem:
        spec === undefined
          ? "is missing (and so is options.dts)"
          : "and options.dts are both given",
    });
  const vmSpec = spec ?? dts!.spec;
  checkObject(vmSpec, spec ? "options.spec" : "options.dts.spec");
  if (!isVmName(vmSpec.name))
    throw new InvalidArgumentError("options.spec.name", VM_NAME_RULE, vmSpec.name);
  checkControl(options.control);
  if (
    options.bootFiles !== undefined &&
    options.bootFiles !== "host" &&
    options.bootFiles !== "copy"
  )
    throw new InvalidArgumentError("options.bootFiles", '"host" or "copy"', options.bootFiles);
  checkTimeoutMs(options.bootTimeoutMs, "options.bootTimeoutMs");
  if (options.login !== undefined) {
    checkObject(options.login, "options.login");
    checkOptionKeys(options.login, ["user", "password"], "options.login");
  }
  if (options.guestSsh !== undefined) {
    checkObject(options.guestSsh, "options.guestSsh");
    checkOptionKeys(
      options.guestSsh,
      ["user", "password", "privateKey", "hostKey", "port"],
      "options.guestSsh",
    );
  }
  if (options.network !== undefined && options.network !== false) {
    checkObject(options.network, "options.network");
    checkOptionKeys(options.network, ["address", "interfaceName"], "options.network");
  }
  if (
    options.runtimeBase !== undefined &&
    (typeof options.runtimeBase !== "string" || !options.runtimeBase.startsWith("/"))
  )
    throw new InvalidArgumentError("options.runtimeBase", "an absolute path", options.runtimeBase);
  const login = {
    user: options.login?.user ?? dts?.login?.user ?? "root",
    ...((options.login?.password ?? dts?.login?.password) !== undefined
      ? { password: (options.login?.password ?? dts?.login?.password)! }
      : {}),
  };
  return {
    host,
    spec: vmSpec,
    name: vmSpec.name,
    control: options.control ?? (dts ? DTS_CONTROL[dts.control] : "serial-unix"),
    login,
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.poolOptions ? { poolOptions: options.poolOptions } : {}),
    ...(options.runtimeBase ? { runtimeBase: options.runtimeBase } : {}),
    guestSsh: options.guestSsh ?? {},
    bootTimeoutMs: options.bootTimeoutMs ?? dts?.start?.bootTimeoutMs ?? 120_000,
    network: options.network ?? {},
    bootFiles: options.bootFiles ?? "host",
  };
}
