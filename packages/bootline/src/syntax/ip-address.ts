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

/** Whether an address binds every interface (`0.0.0.0`, `::`). */
export function isWildcardAddress(text: string): boolean {
  return text === "0.0.0.0" || text === "::" || text === "";
}
