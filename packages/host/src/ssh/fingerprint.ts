import { createHash } from "node:crypto";
import { excerpt, InvalidArgumentError } from "@qemu-kvm/core";

/** `SHA256:` + unpadded base64 of a key blob's SHA-256, as `ssh-keygen -l` prints. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Normalizes a pinned fingerprint (`SHA256:` prefix optional, padding ignored). */
export function normalizeFingerprint(value: string): string | undefined {
  const body = value
    .trim()
    .replace(/^SHA256:/, "")
    .replace(/=+$/, "");
  return /^[A-Za-z0-9+/]{43}$/.test(body) ? `SHA256:${body}` : undefined;
}

/**
 * The key blob when `base64` decodes to an SSH public key of type `type` (the
 * blob starts with its own type name, so a word that happens to be base64 is
 * not taken for a key).
 */
function keyBlob(type: string, base64: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const blob = Buffer.from(base64, "base64");
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length !== type.length || 4 + length > blob.length) return undefined;
  return blob.toString("latin1", 4, 4 + length) === type ? blob : undefined;
}

const EXPECTED = "an OpenSSH public key line (`ssh-ed25519 AAAA… comment`) or a known_hosts line";

/**
 * The fingerprint of the public key on one line, `SHA256:…` as `ssh-keygen -l`
 * prints it: from a public key line (`ssh-ed25519 AAAA… comment`, as in a
 * `.pub` file or `authorized_keys`) or a known_hosts line (`[host]:port
 * ssh-ed25519 AAAA…`, markers and hashed names allowed). For instance the
 * host key of a guest read through its guest agent, to pin with `hostKey: {
 * fingerprint }`. Throws `ERR_INVALID_ARGUMENT` when the line holds no key.
 *
 * ```ts
 * const fingerprint = fingerprintOf(await guest.readFile("/etc/ssh/ssh_host_ed25519_key.pub"));
 * ```
 */
export function fingerprintOf(publicKeyLine: string): string {
  if (typeof publicKeyLine !== "string")
    throw new InvalidArgumentError("publicKeyLine", EXPECTED, publicKeyLine);
  const line = publicKeyLine.trim();
  if (line.includes("\n"))
    throw new InvalidArgumentError("publicKeyLine", EXPECTED, excerpt(line, 80), {
      problem: "holds several lines: pass the one with the key",
    });
  const fields = line.split(/\s+/);
  for (let index = 0; index + 1 < fields.length; index++) {
    const blob = keyBlob(fields[index]!, fields[index + 1]!);
    if (blob) return keyFingerprint(blob);
  }
  throw new InvalidArgumentError("publicKeyLine", EXPECTED, excerpt(line, 80), {
    problem: "holds no public key (a key type followed by its base64 blob)",
  });
}
