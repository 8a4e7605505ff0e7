/** `options.topology`: a description of the host that replaces sysfs. */
import { checkObject, checkOptionKeys, InvalidArgumentError } from "@qemu-kvm/core";
import type { PciFacts } from "../transactions/facts.js";
import type { PciDeviceDescription, TopologyDescription } from "../types.js";
import { checkCpuNumbers, checkPciAddress } from "./arguments.js";

/** The CPUs of a described topology. */
export interface DescribedCpus {
  online: number[];
  nodes: Map<number, number[]>;
}

function checkCpus(cpus: NonNullable<TopologyDescription["cpus"]>): DescribedCpus {
  checkObject(cpus, "options.topology.cpus");
  checkOptionKeys(cpus, ["online", "nodes"], "options.topology.cpus");
  const online = checkCpuNumbers(cpus.online, "options.topology.cpus.online").sort((a, b) => a - b);
  const nodes = new Map<number, number[]>();
  if (cpus.nodes === undefined) return { online, nodes: new Map([[0, online]]) };
  checkObject(cpus.nodes, "options.topology.cpus.nodes");
  for (const [node, list] of Object.entries(cpus.nodes)) {
    const field = `options.topology.cpus.nodes[${node}]`;
    if (!/^\d+$/.test(node))
      throw new InvalidArgumentError(field, "keyed by a node number", node, {
        problem: "must be keyed by a node number",
      });
    const checked = checkCpuNumbers(list, field);
    for (const cpu of checked)
      if (!online.includes(cpu))
        throw new InvalidArgumentError(field, "online CPUs", list, {
          problem: `names CPU ${cpu}, which is not online`,
        });
    nodes.set(
      Number(node),
      checked.sort((a, b) => a - b),
    );
  }
  return { online, nodes };
}

function checkPci(devices: readonly PciDeviceDescription[]): Map<string, PciFacts> {
  if (!Array.isArray(devices))
    throw new InvalidArgumentError("options.topology.pci", "a list of devices", devices);
  const facts = new Map<string, PciFacts>();
  const add = (entry: PciFacts, field: string) => {
    if (facts.has(entry.address))
      throw new InvalidArgumentError(field, "each device once", entry.address, {
        problem: `names ${entry.address} twice`,
      });
    facts.set(entry.address, entry);
  };
  devices.forEach((device, index) => {
    const field = `options.topology.pci[${index}]`;
    checkObject(device as unknown, field);
    checkOptionKeys(device, ["address", "vfs"], field);
    const address = checkPciAddress(device.address, `${field}.address`);
    if (device.vfs !== undefined && !Array.isArray(device.vfs))
      throw new InvalidArgumentError(`${field}.vfs`, "a list of PCI addresses", device.vfs);
    const vfs = (device.vfs ?? []).map((vf: string, vfIndex: number) =>
      checkPciAddress(vf, `${field}.vfs[${vfIndex}]`),
    );
    add({ address, function: device.vfs === undefined ? "device" : "pf" }, field);
    for (const vf of vfs) add({ address: vf, function: "vf", pf: address }, `${field}.vfs`);
  });
  return facts;
}

/** The described CPUs and PCI devices; `undefined` for what sysfs tells. */
export function checkTopology(topology: TopologyDescription | undefined): {
  topologyCpus: DescribedCpus | undefined;
  pci: Map<string, PciFacts> | undefined;
} {
  if (topology === undefined) return { topologyCpus: undefined, pci: undefined };
  checkObject(topology, "options.topology");
  checkOptionKeys(topology, ["cpus", "pci"], "options.topology");
  return {
    topologyCpus: topology.cpus === undefined ? undefined : checkCpus(topology.cpus),
    pci: topology.pci === undefined ? undefined : checkPci(topology.pci),
  };
}
