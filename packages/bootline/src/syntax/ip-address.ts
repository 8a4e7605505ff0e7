const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A dotted-quad IPv4 address, e.g. `127.0.0.1`. */
export function isIpv4(text: string): boolean {
  return ipv4.test(text);
}

/** An IPv6 address literal without brackets, e.g. `::1`, `fe80::1`, `::ffff:10.0.0.1`. */
export function isIpv6(text: string): boolean {
  if (!text.includes(":") || text.length > 45) return false;
  let rest = text;
  const lastColon = rest.lastIndexOf(":");
  const tail = rest.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isIpv4(tail)) return false;
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split("::");
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!);
  const back = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...back].every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return false;
  const count = head.length + back.length;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** An IPv4 or IPv6 address literal. */
export function isIpAddress(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

/** The 8 groups of an IPv6 address literal (valid per `isIpv6`), as numbers. */
function ipv6Groups(text: string): number[] {
  let rest = text;
  const tail: number[] = [];
  const lastColon = rest.lastIndexOf(":");
  if (rest.slice(lastColon + 1).includes(".")) {
    const [a, b, c, d] = rest
      .slice(lastColon + 1)
      .split(".")
      .map(Number) as [number, number, number, number];
    tail.push(a * 256 + b, c * 256 + d);
    rest = rest.slice(0, lastColon + 1);
    // `::1.2.3.4` leaves `::`; `ffff:1.2.3.4` (no `::`) leaves `ffff:`.
    if (rest.endsWith(":") && !rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  const groups = (half: string) =>
    half === "" ? [] : half.split(":").map((group) => Number.parseInt(group, 16));
  const halves = rest.split("::");
  const head = groups(halves[0]!);
  const back = halves.length === 2 ? groups(halves[1]!) : [];
  const zeros = 8 - head.length - back.length - tail.length;
  return [...head, ...new Array<number>(Math.max(0, zeros)).fill(0), ...back, ...tail];
}

/**
 * One spelling per address, for comparing addresses: IPv4 as it is; IPv6 with every
 * group written in lower-case hex without leading zeros and nothing left out
 * (`::1` and `0:0:0:0:0:0:0:1` are `0:0:0:0:0:0:0:1`); an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`) as its IPv4 address, which it is to the kernel. Anything
 * else is returned as it is.
 */
export function canonicalAddress(text: string): string {
  if (!isIpv6(text)) return text;
  const groups = ipv6Groups(text);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff)
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  return groups.map((group) => group.toString(16)).join(":");
}

/** Whether an address binds every interface (`0.0.0.0`, `::` however written, or empty). */
export function isWildcardAddress(text: string): boolean {
  const address = canonicalAddress(text);
  return address === "0.0.0.0" || address === "0:0:0:0:0:0:0:0" || address === "";
}

/** Whether an address is the host's loopback (`127.0.0.0/8`, `::1`, however written). */
export function isLoopbackAddress(text: string): boolean {
  const address = canonicalAddress(text);
  return address === "0:0:0:0:0:0:0:1" || (isIpv4(address) && address.startsWith("127."));
}
