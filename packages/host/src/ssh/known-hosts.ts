import { createHmac } from "node:crypto";
import type { HostKeyProblem } from "../errors/host-errors.js";

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  revoked: boolean;
  patterns: string[];
  keyType: string;
  key: Buffer;
}

/**
 * Parses OpenSSH known_hosts text: `[marker] hosts keytype base64 [comment]`.
 * Hosts are comma-separated patterns (`*`, `?`, `!negation`, `[host]:port`) or
 * one hashed name (`|1|salt|hash`). `@revoked` lines are kept (they reject a
 * key); `@cert-authority` lines are skipped (certificates are not supported).
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith("@")) {
      const marker = fields.shift();
      if (marker === "@revoked") revoked = true;
      else continue;
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+=*$/.test(base64)) continue;
    entries.push({
      revoked,
      patterns: hosts.split(","),
      keyType,
      key: Buffer.from(base64, "base64"),
    });
  }
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  const regex = new RegExp(
    `^${pattern
      .toLowerCase()
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".")}$`,
  );
  return regex.test(name.toLowerCase());
}

/** Whether an entry names `name`: a positive pattern matches and no negated one does. */
function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith("!")) {
      if (matchesPattern(pattern.slice(1), name)) return false;
    } else if (matchesPattern(pattern, name)) matched = true;
  }
  return matched;
}

/** The entries for `name`. */
export function entriesFor(entries: readonly KnownHostEntry[], name: string): KnownHostEntry[] {
  return entries.filter((entry) => entryMatches(entry, name));
}

/** `undefined` if `key` is known and not revoked for these entries, else why not. */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  key: Buffer,
): HostKeyProblem | undefined {
  if (entries.some((entry) => entry.revoked && entry.key.equals(key))) return "revoked";
  if (entries.some((entry) => !entry.revoked && entry.key.equals(key))) return undefined;
  return entries.some((entry) => !entry.revoked) ? "mismatch" : "unknown";
}

/**
 * Host key algorithms to offer for known key types, so the server presents a key
 * we can check (as OpenSSH orders HostKeyAlgorithms by known_hosts): an RSA key
 * may be used with either SHA-2 signature.
 */
export function hostKeyAlgorithms(keyTypes: Iterable<string>): string[] {
  const algorithms = new Set<string>();
  for (const type of keyTypes) {
    if (type === "ssh-rsa")
      for (const name of ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]) algorithms.add(name);
    else if (SUPPORTED_HOST_KEY_TYPES.has(type)) algorithms.add(type);
  }
  return [...algorithms];
}

/** The host key formats ssh2 can verify. */
const SUPPORTED_HOST_KEY_TYPES = new Set([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-dss",
]);
