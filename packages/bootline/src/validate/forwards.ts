/** `nets[].hostForwards` of user networking: structured or in QEMU's text syntax. */
import { DEFAULT_HOST } from "../spec/defaults.js";
import type { ResolvedForward } from "../spec/resolved-spec.js";
import { readHostForward } from "../syntax/host-forward.js";
import { isIpv4 } from "../syntax/ip-address.js";
import { type Context, hostAddress } from "./context.js";
import { Reader } from "./reader.js";

const FORWARD_FIELDS = ["protocol", "hostAddress", "hostPort", "guestAddress", "guestPort"];

/** A forward in QEMU's syntax, where an empty host address means 127.0.0.1 and an empty port "auto". */
function readTextForward(
  context: Context,
  text: string,
  path: string,
): ResolvedForward | undefined {
  const parsed = readHostForward(text, { emptyHostAddress: DEFAULT_HOST, emptyHostPort: "auto" });
  if ("error" in parsed) {
    context.issues.add(
      path,
      parsed.error,
      "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, e.g. tcp:127.0.0.1:6001-:22",
    );
    return undefined;
  }
  if (parsed.hostPort === "auto" && !context.allowUnassigned)
    context.issues.add(
      path,
      "has no host port: it must be assigned before building",
      "a port number (lease one and call assignPorts)",
    );
  return { ...parsed, field: `${path}.hostPort` };
}

function readStructuredForward(
  context: Context,
  value: unknown,
  path: string,
): ResolvedForward | undefined {
  const forward = Reader.open(
    context.issues,
    value,
    path,
    FORWARD_FIELDS,
    "an object or a string such as tcp:127.0.0.1:6001-:22",
  );
  if (!forward) return undefined;
  const protocol = forward.choice("protocol", ["tcp", "udp"] as const) ?? "tcp";
  const host = hostAddress(forward, "hostAddress", true);
  const hostPort = forward.port("hostPort", context.allowUnassigned);
  const guestAddress = forward.string("guestAddress", {
    test: isIpv4,
    expected: "an IPv4 address such as 10.0.2.15",
  });
  const guestPort = forward.integer("guestPort", 1, 65535, { required: true });
  if (hostPort === undefined || guestPort === undefined) return undefined;
  return {
    protocol,
    hostAddress: host,
    hostPort,
    ...(guestAddress !== undefined ? { guestAddress } : {}),
    guestPort,
    field: `${path}.hostPort`,
  };
}

/** The forwards of one user network; each assigned host port is recorded for the clash check. */
export function readForwards(context: Context, reader: Reader): ResolvedForward[] {
  const forwards: ResolvedForward[] = [];
  for (const { value, path } of reader.list("hostForwards")) {
    const forward =
      typeof value === "string"
        ? readTextForward(context, value, path)
        : readStructuredForward(context, value, path);
    if (forward) forwards.push(forward);
  }
  for (const forward of forwards)
    if (forward.hostPort !== "auto")
      context.listeners.push({
        protocol: forward.protocol,
        host: forward.hostAddress,
        port: forward.hostPort,
        field: forward.field,
      });
  return forwards;
}
