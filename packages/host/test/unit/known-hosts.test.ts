import { createHmac } from "node:crypto";
import { describe, expect, test } from "vitest";
import { keyFingerprint, normalizeFingerprint } from "../../src/ssh/fingerprint.js";
import {
  checkHostKey,
  entriesFor,
  hostKeyAlgorithms,
  knownHostsName,
  parseKnownHosts,
} from "../../src/ssh/known-hosts.js";

const keyA = Buffer.from("key A blob");
const keyB = Buffer.from("key B blob");
const a = keyA.toString("base64");
const b = keyB.toString("base64");

function hashed(name: string): string {
  const salt = Buffer.from("0123456789abcdefghij");
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

describe("known_hosts", () => {
  test("names: port 22 plain, other ports bracketed", () => {
    expect(knownHostsName("lab1", 22)).toBe("lab1");
    expect(knownHostsName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  test("plain, bracketed, wildcard, negated and hashed entries match the right names", () => {
    const entries = parseKnownHosts(
      [
        "# comment",
        "",
        `lab1,10.0.0.1 ssh-ed25519 ${a} comment`,
        `[127.0.0.1]:2222 ssh-ed25519 ${a}`,
        `*.lab.example,!bad.lab.example ssh-ed25519 ${a}`,
        `${hashed("[secret]:2200")} ecdsa-sha2-nistp256 ${b}`,
        `@cert-authority *.lab.example ssh-ed25519 ${b}`,
        "broken line",
      ].join("\n"),
    );
    expect(entries).toHaveLength(4);
    expect(entriesFor(entries, "lab1")).toHaveLength(1);
    expect(entriesFor(entries, "LAB1")).toHaveLength(1);
    expect(entriesFor(entries, "lab2")).toHaveLength(0);
    expect(entriesFor(entries, "[127.0.0.1]:2222")).toHaveLength(1);
    expect(entriesFor(entries, "127.0.0.1")).toHaveLength(0);
    expect(entriesFor(entries, "x.lab.example")).toHaveLength(1);
    expect(entriesFor(entries, "bad.lab.example")).toHaveLength(0);
    expect(entriesFor(entries, "[secret]:2200")).toHaveLength(1);
    expect(entriesFor(entries, "secret")).toHaveLength(0);
  });

  test("a key is accepted, mismatched, unknown or revoked", () => {
    const entries = parseKnownHosts(
      `lab1 ssh-ed25519 ${a}\n@revoked lab2 ssh-ed25519 ${b}\nlab2 ssh-ed25519 ${a}\n`,
    );
    expect(checkHostKey(entriesFor(entries, "lab1"), keyA)).toBeUndefined();
    expect(checkHostKey(entriesFor(entries, "lab1"), keyB)).toBe("mismatch");
    expect(checkHostKey(entriesFor(entries, "lab3"), keyA)).toBe("unknown");
    expect(checkHostKey(entriesFor(entries, "lab2"), keyB)).toBe("revoked");
    expect(checkHostKey(entriesFor(entries, "lab2"), keyA)).toBeUndefined();
  });

  test("fingerprints as ssh-keygen -l prints them; pins are normalized", () => {
    const fingerprint = keyFingerprint(keyA);
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(normalizeFingerprint(fingerprint.slice(7))).toBe(fingerprint);
    expect(normalizeFingerprint(`${fingerprint}=`)).toBe(fingerprint);
    expect(normalizeFingerprint("MD5:aa:bb")).toBeUndefined();
  });

  test("offers the host key formats the known entries have", () => {
    expect(hostKeyAlgorithms(["ssh-ed25519", "ssh-rsa", "sk-ssh-ed25519@openssh.com"])).toEqual([
      "ssh-ed25519",
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
    ]);
  });
});
