import { createHash } from "node:crypto";
import { InvalidArgumentError } from "@qemu-kvm/core";

/** A guest's SSH host public key, as read through a control channel, ready to pin. */
export interface GuestSshHostKey {
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`… */
  algorithm: string;
  /** The public key as SSH sends it in the handshake (what a host key verifier receives). */
  blob: Buffer;
  /** As in `authorized_keys` and `known_hosts` (after the host name): `ssh-ed25519 AAAA…`. */
  text: string;
  /** `SHA256:…` (unpadded base64), as `ssh-keygen -l` prints it and `@qemu-kvm/host` pins it. */
  fingerprint: string;
}

/**
 * The public part of a dropbear host key file: its fields in order, and how
 * many of them (or which bytes) make the public key. Dropbear writes the SSH
 * wire encoding of the private key; for every algorithm but ed25519 the public
 * key is its first fields.
 */
const DROPBEAR_PUBLIC_FIELDS = new Map([
  ["ssh-rsa", 2], // e, n (then d, p, q)
  ["ssh-dss", 4], // p, q, g, y (then x)
  ["ecdsa-sha2-nistp256", 2], // curve name, Q (then d)
  ["ecdsa-sha2-nistp384", 2],
  ["ecdsa-sha2-nistp521", 2],
]);
const ED25519 = "ssh-ed25519";
const EXPECTED = "a dropbear host key file or an OpenSSH public key line";

/**
 * The SSH host public key in `file`: a dropbear host key file (binary, as
 * `/etc/dropbear/dropbear_ed25519_host_key`; its private part is skipped and
 * never kept or shown) or an OpenSSH public key (`/etc/ssh/ssh_host_ed25519_key.pub`:
 * `ssh-ed25519 AAAA… comment`). Read the file through the guest agent
 * (`readFile`) or the console (`run("cat …")`, `outputBytes`). Throws
 * `ERR_INVALID_ARGUMENT` (`field: "file"`, without its bytes) for anything else.
 */
export function parseSshHostKey(file: string | Uint8Array): GuestSshHostKey {
  if (typeof file !== "string" && !(file instanceof Uint8Array))
    throw new InvalidArgumentError("file", "a string or a Uint8Array", file);
  const bytes = Buffer.from(file);
  const blob = looksLikeText(bytes) ? fromOpenSsh(bytes.toString("utf8")) : fromDropbear(bytes);
  const algorithm = new WireReader(blob).string().toString("latin1");
  const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
  return { algorithm, blob, text: `${algorithm} ${blob.toString("base64")}`, fingerprint };
}

/** A dropbear key file starts with a 4-byte length (a NUL first); a public key line with a letter. */
function looksLikeText(bytes: Buffer): boolean {
  return bytes.length > 0 && bytes[0] !== 0;
}

function fromOpenSsh(text: string): Buffer {
  const [algorithm, base64] = text.trim().split(/\s+/);
  if (!algorithm || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
    throw invalid("is not `ALGORITHM BASE64 [comment]`");
  const blob = Buffer.from(base64, "base64");
  const reader = new WireReader(blob);
  if (reader.string().toString("latin1") !== algorithm)
    throw invalid(`names ${algorithm} but its key is of another type`);
  return blob;
}

function fromDropbear(bytes: Buffer): Buffer {
  const reader = new WireReader(bytes);
  const type = reader.string();
  const algorithm = type.toString("latin1");
  const wire = (fields: Buffer[]) =>
    Buffer.concat(fields.flatMap((field) => [uint32(field.length), field]));
  if (algorithm === ED25519) {
    // The seed and the public key, 32 bytes each: only the second half is public.
    const pair = reader.string();
    if (pair.length !== 64)
      throw invalid(`holds an ${ED25519} key of ${pair.length} bytes, not 64`);
    return wire([type, pair.subarray(32)]);
  }
  const count = DROPBEAR_PUBLIC_FIELDS.get(algorithm);
  if (count === undefined) throw invalid("is not a dropbear host key of a known type");
  const fields = [type];
  for (let index = 0; index < count; index++) fields.push(reader.string());
  return wire(fields);
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

function invalid(problem: string): InvalidArgumentError {
  // Never the bytes: a dropbear file holds the private key.
  return new InvalidArgumentError("file", EXPECTED, "…", { problem });
}

/** SSH wire strings (and mpints, read the same way): a 4-byte length, then that many bytes. */
class WireReader {
  readonly #bytes: Buffer;
  #offset = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  string(): Buffer {
    if (this.#offset + 4 > this.#bytes.length) throw invalid("ends in the middle of a field");
    const length = this.#bytes.readUInt32BE(this.#offset);
    const start = this.#offset + 4;
    if (length > this.#bytes.length - start) throw invalid("ends in the middle of a field");
    this.#offset = start + length;
    return this.#bytes.subarray(start, start + length);
  }
}
