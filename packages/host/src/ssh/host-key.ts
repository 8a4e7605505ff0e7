import { readFile } from "node:fs/promises";
import {
  HostConnectError,
  HostKeyMismatchError,
  type HostKeyProblem,
} from "../errors/host-errors.js";
import { debug } from "../shared/observe.js";
import {
  checkHostKey,
  entriesFor,
  hostKeyAlgorithms,
  knownHostsName,
  parseKnownHosts,
} from "./known-hosts.js";
import type { ResolvedSshOptions } from "./ssh-options.js";

/** The host key check of a connection, and the key formats to offer. */
export interface HostKeyVerifier {
  check(key: Buffer, fingerprint: string): HostKeyMismatchError | undefined;
  algorithms: string[];
}

/** The verifier for the options' host key policy (known hosts are read at each connection). */
export async function hostKeyVerifier(options: ResolvedSshOptions): Promise<HostKeyVerifier> {
  const policy = options.hostKey;
  if (policy === "insecure-accept-any") {
    debug("ssh %s: host key verification is OFF (insecure-accept-any)", options.name);
    return { check: () => undefined, algorithms: [] };
  }
  if ("fingerprint" in policy) return pinnedVerifier(options);
  const { text, source } =
    "knownHosts" in policy
      ? { text: policy.knownHosts, source: "the given known hosts" }
      : await readKnownHosts(options, policy.knownHostsFile);
  const lookup = knownHostsName(options.host, options.port);
  const entries = entriesFor(parseKnownHosts(text), lookup);
  return {
    check: (key, fingerprint) => {
      const problem = checkHostKey(entries, key);
      if (!problem) return undefined;
      return new HostKeyMismatchError({
        problem,
        fingerprint,
        message: refusal(problem, lookup, fingerprint, source),
        host: options.name,
      });
    },
    algorithms: hostKeyAlgorithms(
      entries.filter((entry) => !entry.revoked).map((entry) => entry.keyType),
    ),
  };
}

function pinnedVerifier(options: ResolvedSshOptions): HostKeyVerifier {
  const pinned = new Set(options.fingerprints);
  return {
    check: (_key, fingerprint) =>
      pinned.has(fingerprint)
        ? undefined
        : new HostKeyMismatchError({
            problem: "mismatch",
            fingerprint,
            message: `the host key of ${options.name} is ${fingerprint}, not the pinned ${[...pinned].join(" or ")}: refusing to connect (possible machine-in-the-middle)`,
            host: options.name,
          }),
    algorithms: [],
  };
}

async function readKnownHosts(
  options: ResolvedSshOptions,
  knownHostsFile: string | readonly string[],
): Promise<{ text: string; source: string }> {
  const files = typeof knownHostsFile === "string" ? [knownHostsFile] : knownHostsFile;
  const texts = await Promise.all(
    files.map((file) =>
      readFile(file, "utf8").catch((error: unknown) => {
        if ((error as { code?: string }).code === "ENOENT") return "";
        throw new HostConnectError({
          message: `cannot read known hosts ${file}: ${(error as Error).message}`,
          host: options.name,
          cause: error,
        });
      }),
    ),
  );
  return { text: texts.join("\n"), source: files.join(", ") };
}

function refusal(problem: HostKeyProblem, lookup: string, fingerprint: string, source: string) {
  if (problem === "unknown")
    return `${lookup} is not in ${source}; its host key is ${fingerprint} (add it after checking it, or pin it)`;
  if (problem === "revoked")
    return `the host key ${fingerprint} of ${lookup} is marked @revoked in ${source}`;
  return `the host key of ${lookup} is ${fingerprint}, which does not match ${source}: refusing to connect (possible machine-in-the-middle)`;
}
