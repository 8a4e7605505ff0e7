import { describe, expect, test } from "vitest";
import { sshHost } from "../../src/index.js";
import { resolveSshOptions, type SshHostOptions } from "../../src/ssh-options.js";

const base = { host: "lab1", privateKey: "k", hostKey: "insecure-accept-any" } as const;

describe("SSH options", () => {
  test("defaults: port 22, the local user, 20 s connect, 15 s × 3 keepalive, 10 sessions", () => {
    const resolved = resolveSshOptions(base);
    expect(resolved).toMatchObject({
      port: 22,
      connectTimeoutMs: 20_000,
      keepaliveIntervalMs: 15_000,
      keepaliveCountMax: 3,
      maxSessions: 10,
    });
    expect(resolved.name).toMatch(/@lab1:22$/);
    expect(resolveSshOptions({ ...base, host: "::1", user: "root", port: 2222 }).name).toBe(
      "root@[::1]:2222",
    );
  });

  test("host key verification cannot be left out; turning it off must be spelled out", () => {
    const { hostKey: _, ...withoutPolicy } = base;
    expect(() => resolveSshOptions(withoutPolicy as unknown as SshHostOptions)).toThrow(
      expect.objectContaining({ code: "ERR_HOST_INVALID_ARGUMENT", field: "hostKey" }),
    );
    // Synchronously, before any connection attempt.
    expect(() => sshHost(withoutPolicy as unknown as SshHostOptions)).toThrow(
      /insecure-accept-any/,
    );
    expect(() =>
      resolveSshOptions({ ...base, hostKey: "insecure" as "insecure-accept-any" }),
    ).toThrow(expect.objectContaining({ field: "hostKey" }));
    expect(() => resolveSshOptions({ ...base, hostKey: { fingerprint: "MD5:00" } })).toThrow(
      expect.objectContaining({ field: "hostKey.fingerprint" }),
    );
    expect(
      resolveSshOptions({ ...base, hostKey: { fingerprint: `SHA256:${"A".repeat(43)}` } })
        .fingerprints,
    ).toEqual([`SHA256:${"A".repeat(43)}`]);
    expect(() => resolveSshOptions({ ...base, hostKey: { knownHostsFile: [] } })).toThrow(
      expect.objectContaining({ field: "hostKey.knownHostsFile" }),
    );
  });

  test("a way to log in is required; numbers are checked", () => {
    expect(() => resolveSshOptions({ host: "lab1", hostKey: "insecure-accept-any" })).toThrow(
      /privateKey/,
    );
    expect(() => resolveSshOptions({ ...base, port: 0 })).toThrow(
      expect.objectContaining({ field: "port" }),
    );
    expect(() => resolveSshOptions({ ...base, maxSessions: 2 })).toThrow(
      expect.objectContaining({ field: "maxSessions" }),
    );
    expect(() => resolveSshOptions({ ...base, connectTimeoutMs: -5 })).toThrow(
      expect.objectContaining({ field: "connectTimeoutMs" }),
    );
    expect(() => resolveSshOptions({ ...base, host: "" })).toThrow(
      expect.objectContaining({ field: "host" }),
    );
  });
});
