import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import ssh2 from "ssh2";
import { describe, expect, test } from "vitest";
import { fingerprintOf } from "../../src/index.js";

/** What `ssh-keygen -l` prints for a public key line: its second field. */
function keygenFingerprint(line: string): string {
  const output = execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: `${line}\n` });
  return output.toString().split(" ")[1]!;
}

const keys = (["ed25519", "ecdsa", "rsa"] as const).map((type) => {
  const pair = ssh2.utils.generateKeyPairSync(type, {
    comment: "root@guest",
    ...(type === "ecdsa" ? { bits: 256 } : type === "rsa" ? { bits: 2048 } : {}),
  });
  return { type, line: pair.public.trim() };
});

describe("fingerprintOf", () => {
  test.each(keys)("agrees with ssh-keygen -l for a $type public key line", ({ line }) => {
    expect(fingerprintOf(line)).toBe(keygenFingerprint(line));
    expect(fingerprintOf(`${line}\n`)).toBe(keygenFingerprint(line));
  });

  test("reads known_hosts lines: ports, markers, hashed names, and authorized_keys options", () => {
    const { line } = keys[0]!;
    const [type, base64] = line.split(" ") as [string, string];
    const expected = keygenFingerprint(line);
    const salt = Buffer.from("0123456789abcdefghij");
    const hashedName = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("guest").digest("base64")}`;
    for (const variant of [
      `[127.0.0.1]:6001 ${type} ${base64}`,
      `guest,10.0.2.15 ${type} ${base64} a comment`,
      `@revoked guest ${type} ${base64}`,
      `${hashedName} ${type} ${base64}`,
      `no-pty,from="10.*" ${type} ${base64} root@guest`,
      `${type} ${base64}`,
    ])
      expect(fingerprintOf(variant)).toBe(expected);
  });

  test("a line without a key, several lines, or not a string is ERR_INVALID_ARGUMENT", () => {
    const { line } = keys[0]!;
    const invalid = expect.objectContaining({
      code: "ERR_INVALID_ARGUMENT",
      field: "publicKeyLine",
    });
    for (const bad of [
      "",
      "ssh-ed25519",
      "ssh-ed25519 not-base64!",
      // Base64, but a blob of another type than the word before it.
      `ssh-rsa ${line.split(" ")[1]}`,
      `${line}\n${line}`,
      "SHA256:abc",
    ])
      expect(() => fingerprintOf(bad)).toThrow(invalid);
    expect(() => fingerprintOf(Buffer.from(line) as unknown as string)).toThrow(invalid);
  });
});
