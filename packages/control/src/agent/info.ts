import type { NetworkInterface } from "../control-channel.js";

/** The agent's replies about the guest, in the client's shapes. */

export interface GuestOsInfo {
  kernelRelease?: string;
  kernelVersion?: string;
  machine?: string;
  id?: string;
  name?: string;
  prettyName?: string;
  version?: string;
  versionId?: string;
  variant?: string;
  variantId?: string;
}

export interface GuestAgentInfo {
  version: string;
  commands: Array<{ name: string; enabled: boolean; successResponse: boolean }>;
}

/** What `guest-info` returns. */
export interface GuestInfoReply {
  version: string;
  supported_commands: Array<{ name: string; enabled: boolean; "success-response": boolean }>;
}

/** What `guest-network-get-interfaces` returns. */
export type NetworkInterfacesReply = Array<{
  name: string;
  "hardware-address"?: string;
  "ip-addresses"?: Array<{ "ip-address-type": string; "ip-address": string; prefix: number }>;
}>;

export function agentInfo(reply: GuestInfoReply): GuestAgentInfo {
  return {
    version: reply.version,
    commands: reply.supported_commands.map((command) => ({
      name: command.name,
      enabled: command.enabled,
      successResponse: command["success-response"],
    })),
  };
}

/** Interfaces as both channels report them (`macAddress` undefined for all-zero). */
export function networkInterfaces(reply: NetworkInterfacesReply): NetworkInterface[] {
  return reply.map((item) => {
    const mac = item["hardware-address"]?.toLowerCase();
    return {
      name: item.name,
      macAddress: mac && !/^(00:){5}00$/.test(mac) ? mac : undefined,
      addresses: (item["ip-addresses"] ?? []).map((address) => ({
        family: address["ip-address-type"] === "ipv6" ? ("ipv6" as const) : ("ipv4" as const),
        address: address["ip-address"],
        prefixLength: address.prefix,
      })),
    };
  });
}

const OS_FIELDS: ReadonlyArray<[keyof GuestOsInfo, string]> = [
  ["kernelRelease", "kernel-release"],
  ["kernelVersion", "kernel-version"],
  ["machine", "machine"],
  ["id", "id"],
  ["name", "name"],
  ["prettyName", "pretty-name"],
  ["version", "version"],
  ["versionId", "version-id"],
  ["variant", "variant"],
  ["variantId", "variant-id"],
];

/** `guest-get-osinfo`'s fields in camelCase (those the guest reports). */
export function osInfo(reply: Record<string, unknown>): GuestOsInfo {
  const info: GuestOsInfo = {};
  for (const [key, field] of OS_FIELDS) {
    const value = reply[field];
    if (typeof value === "string") info[key] = value;
  }
  return info;
}
