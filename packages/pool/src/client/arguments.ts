/**
 * Checks of the calls' arguments. Programmer errors throw core's
 * `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`, with the `field`)
 * synchronously, before anything is sent to the host.
 */
import {
  checkObject,
  checkOptionKeys,
  checkVmName,
  InvalidArgumentError,
  MAX_CPU,
  normalizePciAddress,
} from "@qemu-kvm/core";
import type { CpuAsk, PortAsk } from "../transactions/transaction.js";
import type {
  CpuRequest,
  LeaseRequest,
  PortLeaseRequest,
  PortRange,
  ProcessRef,
} from "../types.js";

/** An integer within `min`–`max`. */
export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(field, `an integer from ${min} to ${max}`, value);
  return value;
}

/** An owner is a VM name (core's `checkVmName`). */
export function checkOwner(owner: unknown): string {
  checkVmName(owner, "owner");
  return owner;
}

/** A host PCI address as core reads it (`0000:81:00.1`, `81:00.1`, `81:0.1`), in its canonical form. */
export function checkPciAddress(address: unknown, field: string): string {
  const normalized = typeof address === "string" ? normalizePciAddress(address) : undefined;
  if (!normalized)
    throw new InvalidArgumentError(field, "a PCI address such as 0000:81:00.1", address);
  return normalized;
}

/** `leasePort()`'s `options.port`. */
export function checkGivenPort(port: unknown): number | undefined {
  return port === undefined ? undefined : checkInteger(port, "options.port", 1, 65535);
}

export function checkPortAsk(
  request: PortLeaseRequest,
  field: string,
  ranges: Readonly<Record<string, PortRange>>,
): PortAsk {
  if (typeof request !== "string") {
    checkObject(request, field);
    checkOptionKeys(request, ["kind", "port"], field);
  }
  const ask: { kind: unknown; port?: unknown } =
    typeof request === "string" ? { kind: request } : request;
  const kind = ask.kind;
  if (typeof kind !== "string" || !Object.hasOwn(ranges, kind))
    throw new InvalidArgumentError(
      `${field}${typeof request === "string" ? "" : ".kind"}`,
      `one of the pool's port kinds (${Object.keys(ranges).join(", ")})`,
      kind,
    );
  if (ask.port === undefined) return { kind };
  return { kind, port: checkInteger(ask.port, `${field}.port`, 1, 65535) };
}

/** CPU numbers as core allows them (0–`MAX_CPU`), each once. */
export function checkCpuNumbers(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new InvalidArgumentError(field, "a non-empty list of CPUs", value);
  const cpus = value.map((cpu, index) => checkInteger(cpu, `${field}[${index}]`, 0, MAX_CPU));
  if (new Set(cpus).size !== cpus.length)
    throw new InvalidArgumentError(field, "a list of CPUs, each once", value, {
      problem: "names a CPU twice",
    });
  return cpus;
}

export function checkCpuAsk(request: CpuRequest, field = "request"): CpuAsk {
  if (typeof request === "number")
    return { count: checkInteger(request, field, 1, MAX_CPU + 1), shared: false };
  if (Array.isArray(request)) return { cpus: checkCpuNumbers(request, field), shared: false };
  const expected = "a list of CPUs, a count, or { cpus | count, node?, shared? }";
  if (typeof request !== "object" || request === null)
    throw new InvalidArgumentError(field, expected, request);
  checkOptionKeys(request, ["cpus", "count", "node", "shared"], field);
  const { cpus, count, node, shared } = request as Exclude<CpuRequest, number | readonly number[]>;
  if ((cpus === undefined) === (count === undefined))
    throw new InvalidArgumentError(field, expected, request, {
      problem: "must have either cpus or count",
    });
  if (shared !== undefined && typeof shared !== "boolean")
    throw new InvalidArgumentError(`${field}.shared`, "a boolean", shared);
  const ask: CpuAsk = { shared: shared === true };
  if (cpus !== undefined) ask.cpus = checkCpuNumbers(cpus, `${field}.cpus`);
  else ask.count = checkInteger(count, `${field}.count`, 1, MAX_CPU + 1);
  if (node !== undefined) ask.node = checkInteger(node, `${field}.node`, 0, 65535);
  return ask;
}

/** A whole `lease()` request: at least one resource, no PCI device twice. */
export function checkLeaseRequest(
  request: LeaseRequest,
  ranges: Readonly<Record<string, PortRange>>,
): { ports: PortAsk[]; cpus: CpuAsk | undefined; pci: string[] } {
  checkObject(request, "request");
  checkOptionKeys(request, ["ports", "cpus", "pci"], "request");
  if (request.ports !== undefined && !Array.isArray(request.ports))
    throw new InvalidArgumentError("request.ports", "a list", request.ports);
  if (request.pci !== undefined && !Array.isArray(request.pci))
    throw new InvalidArgumentError("request.pci", "a list", request.pci);
  const ports = (request.ports ?? []).map((entry, index) =>
    checkPortAsk(entry, `request.ports[${index}]`, ranges),
  );
  const cpus = request.cpus === undefined ? undefined : checkCpuAsk(request.cpus, "request.cpus");
  const pci = (request.pci ?? []).map((address, index) =>
    checkPciAddress(address, `request.pci[${index}]`),
  );
  if (new Set(pci).size !== pci.length)
    throw new InvalidArgumentError("request.pci", "a list of PCI devices, each once", request.pci, {
      problem: "names a device twice",
    });
  if (ports.length === 0 && cpus === undefined && pci.length === 0)
    throw new InvalidArgumentError(
      "request",
      "{ ports?, cpus?, pci? } asking for something",
      request,
      {
        problem: "asks for nothing",
      },
    );
  return { ports, cpus, pci };
}

/**
 * A process by pid and start time. Other keys are allowed: the result of
 * `host.processInfo()` spread with the pid will do.
 */
export function checkProcessRef(target: ProcessRef): ProcessRef {
  checkObject(target, "process");
  const { pid, startTime } = target;
  checkInteger(pid, "process.pid", 1, Number.MAX_SAFE_INTEGER);
  if (typeof startTime !== "bigint" || startTime < 0n)
    throw new InvalidArgumentError(
      "process.startTime",
      "a bigint from host.processInfo()",
      startTime,
    );
  return { pid, startTime };
}
