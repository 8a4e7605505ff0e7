import { describe, expect, test } from "vitest";
import { networkMatches, parseIpOutput } from "../../src/index.js";

describe("parseIpOutput", () => {
  test("reads iproute2's one-line output: VLANs, several addresses, interfaces without any", () => {
    const text = [
      "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
      "2: enp0s3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:AB:cd:01 brd ff:ff:ff:ff:ff:ff",
      "3: enp0s3.100@enp0s3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:ab:cd:01 brd ff:ff:ff:ff:ff:ff",
      "4: dummy0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 7a:00:11:22:33:44 brd ff:ff:ff:ff:ff:ff",
      "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
      "2: enp0s3    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic noprefixroute enp0s3\\       valid_lft 86371sec preferred_lft 86371sec",
      "2: enp0s3    inet 192.168.7.2/16 scope global secondary enp0s3:1\\       valid_lft forever preferred_lft forever",
      "3: enp0s3.100    inet6 fe80::a00:27ff:feab:cd01/64 scope link \\       valid_lft forever preferred_lft forever",
    ].join("\n");
    const interfaces = parseIpOutput(text);
    expect(interfaces.map((item) => item.name)).toEqual(["lo", "enp0s3", "enp0s3.100", "dummy0"]);
    expect(interfaces[1]).toEqual({
      name: "enp0s3",
      macAddress: "08:00:27:ab:cd:01",
      addresses: [
        { family: "ipv4", address: "10.0.2.15", prefixLength: 24 },
        { family: "ipv4", address: "192.168.7.2", prefixLength: 16 },
      ],
    });
    expect(interfaces[2]!.addresses).toEqual([
      { family: "ipv6", address: "fe80::a00:27ff:feab:cd01", prefixLength: 64 },
    ]);
    expect(interfaces[3]!.addresses).toEqual([]);
    expect(networkMatches(interfaces, {})).toBe(true);
    expect(networkMatches(interfaces, { interfaceName: "lo" })).toBe(false); // loopback does not count
    expect(networkMatches(interfaces, { address: "10.0.2.15", interfaceName: "enp0s3" })).toBe(
      true,
    );
    expect(networkMatches(interfaces, { address: "10.0.2.16" })).toBe(false);
  });
});
