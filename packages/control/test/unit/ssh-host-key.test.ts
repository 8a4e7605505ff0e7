import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, test } from "vitest";
import { parseSshHostKey } from "../../src/index.js";

/** SSH wire encoding: each field as a 4-byte length and its bytes. */
function wire(...fields: Array<string | Buffer>): Buffer {
  return Buffer.concat(
    fields.flatMap((field) => {
      const bytes = typeof field === "string" ? Buffer.from(field, "latin1") : field;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    }),
  );
}

/** An SSH mpint: big-endian, with a 0 byte in front when the top bit is set. */
function mpint(base64url: string): Buffer {
  const bytes = Buffer.from(base64url, "base64url");
  return bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

function jwk(key: KeyObject): Record<string, string> {
  return key.export({ format: "jwk" }) as Record<string, string>;
}

/** For each algorithm, a dropbear host key file (the private key, as dropbear writes it) and its public blob. */
function keys(): Array<{ algorithm: string; file: Buffer; blob: Buffer }> {
  const ed = jwk(generateKeyPairSync("ed25519").privateKey);
  const edPublic = Buffer.from(ed.x!, "base64url");
  const ec = jwk(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(ec.x!, "base64url"),
    Buffer.from(ec.y!, "base64url"),
  ]);
  const rsa = jwk(generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey);
  const ecdsa = "ecdsa-sha2-nistp256";
  return [
    {
      algorithm: "ssh-ed25519",
      file: wire("ssh-ed25519", Buffer.concat([Buffer.from(ed.d!, "base64url"), edPublic])),
      blob: wire("ssh-ed25519", edPublic),
    },
    {
      algorithm: ecdsa,
      file: wire(ecdsa, "nistp256", point, mpint(ec.d!)),
      blob: wire(ecdsa, "nistp256", point),
    },
    {
      algorithm: "ssh-rsa",
      file: wire(
        "ssh-rsa",
        mpint(rsa.e!),
        mpint(rsa.n!),
        mpint(rsa.d!),
        mpint(rsa.p!),
        mpint(rsa.q!),
      ),
      blob: wire("ssh-rsa", mpint(rsa.e!), mpint(rsa.n!)),
    },
  ];
}

describe("parseSshHostKey", () => {
  test("a dropbear host key file gives its public key, text and SHA256 fingerprint, never its private part", () => {
    for (const { algorithm, file, blob } of keys()) {
      const key = parseSshHostKey(file);
      expect(key.algorithm).toBe(algorithm);
      expect(key.blob.equals(blob)).toBe(true);
      expect(key.text).toBe(`${algorithm} ${blob.toString("base64")}`);
      const digest = createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
      expect(key.fingerprint).toBe(`SHA256:${digest}`);
      expect(key.blob.length).toBeLessThan(file.length);
    }
  });

  test("an OpenSSH public key line (a .pub file) gives the same", () => {
    for (const { file } of keys()) {
      const fromDropbear = parseSshHostKey(file);
      const line = `${fromDropbear.text} root@guest\n`;
      expect(parseSshHostKey(line)).toEqual(fromDropbear);
      expect(parseSshHostKey(Buffer.from(line))).toEqual(fromDropbear);
    }
  });

  test("anything else is ERR_INVALID_ARGUMENT on file, without the bytes in the message", () => {
    const [ed] = keys();
    const secret = ed!.file.subarray(-64, -32);
    const cases: Array<string | Uint8Array> = [
      "",
      Buffer.alloc(0),
      ed!.file.subarray(0, 40), // cut short
      wire("ssh-ed25519", secret), // 32 bytes where dropbear keeps 64
      wire("__proto__", "x"),
      wire("ssh-unknown", "x"),
      "ssh-ed25519",
      `ssh-rsa ${parseSshHostKey(ed!.file).blob.toString("base64")}`, // another type inside
    ];
    for (const file of cases) {
      let error: unknown;
      try {
        parseSshHostKey(file);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "file" });
      const message = (error as Error).message;
      expect(message).not.toContain(secret.toString("base64"));
      expect(message).not.toContain(secret.toString("hex"));
    }
    expect(() => parseSshHostKey(42 as never)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "file" }),
    );
  });
});
