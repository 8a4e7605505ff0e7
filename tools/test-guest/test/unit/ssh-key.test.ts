import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { describe, expect, test } from "vitest";
import { formatEd25519KeyPair, generateSshKeyPair } from "../../src/ssh-key.js";

/** A reader of SSH wire strings (uint32 length + bytes). */
function reader(data: Buffer, offset = 0) {
  return {
    uint32() {
      const value = data.readUInt32BE(offset);
      offset += 4;
      return value;
    },
    string() {
      const length = data.readUInt32BE(offset);
      const value = data.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      return value;
    },
    rest: () => data.subarray(offset),
  };
}

/** Reads the fields of an unencrypted openssh-key-v1 file. */
function parsePrivateKey(text: string) {
  const base64 = text
    .split("\n")
    .filter((line) => line && !line.startsWith("-----"))
    .join("");
  const data = Buffer.from(base64, "base64");
  const magic = data.subarray(0, 15).toString("latin1");
  const outer = reader(data, 15);
  const cipher = outer.string().toString();
  const kdf = outer.string().toString();
  outer.string(); // kdf options
  const keys = outer.uint32();
  const publicBlob = outer.string();
  const secret = outer.string();
  const inner = reader(secret);
  const check1 = inner.uint32();
  const check2 = inner.uint32();
  const type = inner.string().toString();
  const publicKey = inner.string();
  const privateKey = inner.string();
  const comment = inner.string().toString();
  const padding = inner.rest();
  return {
    magic,
    cipher,
    kdf,
    keys,
    publicBlob,
    secret,
    check1,
    check2,
    type,
    publicKey,
    privateKey,
    comment,
    padding,
  };
}

function publicKeyBytes(line: string): Buffer {
  const [type, base64] = line.split(" ");
  expect(type).toBe("ssh-ed25519");
  const blob = Buffer.from(base64!, "base64");
  expect(blob.subarray(4, 4 + blob.readUInt32BE(0)).toString()).toBe("ssh-ed25519");
  const at = 4 + blob.readUInt32BE(0);
  return blob.subarray(at + 4, at + 4 + blob.readUInt32BE(at));
}

describe("ssh keys", () => {
  test("the private key file has OpenSSH's openssh-key-v1 layout", () => {
    const seed = Buffer.alloc(32, 7);
    const pub = Buffer.alloc(32, 9);
    const pair = formatEd25519KeyPair(seed, pub, "me@test", 0x01020304);
    expect(pair.privateKey.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n")).toBe(true);
    expect(pair.privateKey.endsWith("-----END OPENSSH PRIVATE KEY-----\n")).toBe(true);
    for (const line of pair.privateKey.split("\n").slice(1, -2))
      expect(line.length).toBeLessThanOrEqual(70);
    const parsed = parsePrivateKey(pair.privateKey);
    expect(parsed.magic).toBe("openssh-key-v1\0");
    expect([parsed.cipher, parsed.kdf, parsed.keys]).toEqual(["none", "none", 1]);
    expect(parsed.check1).toBe(0x01020304);
    expect(parsed.check2).toBe(parsed.check1);
    expect(parsed.type).toBe("ssh-ed25519");
    expect(parsed.publicKey.equals(pub)).toBe(true);
    expect(parsed.privateKey.equals(Buffer.concat([seed, pub]))).toBe(true);
    expect(parsed.comment).toBe("me@test");
    expect(parsed.secret.length % 8).toBe(0);
    expect([...parsed.padding]).toEqual([...parsed.padding].map((_, i) => i + 1));
    expect(pair.publicKey).toBe(`ssh-ed25519 ${parsed.publicBlob.toString("base64")} me@test`);
  });

  test("a generated pair: the private key signs what the authorized_keys line verifies", () => {
    const pair = generateSshKeyPair("guest");
    const parsed = parsePrivateKey(pair.privateKey);
    const x = publicKeyBytes(pair.publicKey);
    const privateKey = createPrivateKey({
      key: {
        kty: "OKP",
        crv: "Ed25519",
        d: parsed.privateKey.subarray(0, 32).toString("base64url"),
        x: x.toString("base64url"),
      },
      format: "jwk",
    });
    const publicKey = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: x.toString("base64url") },
      format: "jwk",
    });
    const message = Buffer.from("qemu-kvm");
    expect(verify(null, message, publicKey, sign(null, message, privateKey))).toBe(true);
    expect(pair.publicKey.endsWith(" guest")).toBe(true);
  });
});
