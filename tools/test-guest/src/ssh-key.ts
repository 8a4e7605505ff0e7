/**
 * An ed25519 key pair in OpenSSH's formats (the `openssh-key-v1` private key that
 * `ssh -i` and ssh2 read, and an `authorized_keys` line), made with node:crypto
 * so the build needs no ssh-keygen. Pure apart from the random key.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";

export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----…`, unencrypted. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, one line without newline. */
  publicKey: string;
}

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** The OpenSSH files for an ed25519 key given as its 32-byte seed and public key. */
export function formatEd25519KeyPair(
  seed: Buffer,
  publicKey: Buffer,
  comment: string,
  checkInt: number,
): SshKeyPair {
  if (seed.length !== 32 || publicKey.length !== 32)
    throw new RangeError("an ed25519 seed and public key are 32 bytes each");
  const keyType = "ssh-ed25519";
  const publicBlob = Buffer.concat([sshString(keyType), sshString(publicKey)]);
  let secret = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    sshString(keyType),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const padding = Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"), // cipher
    sshString("none"), // kdf
    sshString(""), // kdf options
    uint32(1), // number of keys
    sshString(publicBlob),
    sshString(secret),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: [
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      ...lines,
      "-----END OPENSSH PRIVATE KEY-----",
      "",
    ].join("\n"),
    publicKey: `${keyType} ${publicBlob.toString("base64")} ${comment}`,
  };
}

/** A fresh ed25519 key pair. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privateJwk = privateKey.export({ format: "jwk" });
  const publicJwk = publicKey.export({ format: "jwk" });
  if (!privateJwk.d || !publicJwk.x) throw new Error("node:crypto gave an ed25519 JWK without d/x");
  return formatEd25519KeyPair(
    Buffer.from(privateJwk.d, "base64url"),
    Buffer.from(publicJwk.x, "base64url"),
    comment,
    randomBytes(4).readUInt32BE(),
  );
}
