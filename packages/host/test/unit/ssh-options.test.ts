import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { connectSshHost, type SshHostOptions } from "../../src/index.js";
import { resolveSshOptions } from "../../src/ssh/ssh-options.js";

const base = { host: "lab1", privateKey: "k", hostKey: "insecure-accept-any" } as const;

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

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
      invalid("hostKey"),
    );
    // Synchronously, before any connection attempt.
    expect(() => connectSshHost(withoutPolicy as unknown as SshHostOptions)).toThrow(
      /insecure-accept-any/,
    );
    expect(() =>
      resolveSshOptions({ ...base, hostKey: "insecure" as "insecure-accept-any" }),
    ).toThrow(invalid("hostKey"));
    expect(() => resolveSshOptions({ ...base, hostKey: { fingerprint: "MD5:00" } })).toThrow(
      invalid("hostKey.fingerprint"),
    );
    expect(
      resolveSshOptions({ ...base, hostKey: { fingerprint: `SHA256:${"A".repeat(43)}` } })
        .fingerprints,
    ).toEqual([`SHA256:${"A".repeat(43)}`]);
    expect(() => resolveSshOptions({ ...base, hostKey: { knownHostsFile: [] } })).toThrow(
      invalid("hostKey.knownHostsFile"),
    );
    expect(() =>
      resolveSshOptions({
        ...base,
        hostKey: { knownHostsFile: "/k", fingerprint: "x" } as unknown as SshHostOptions["hostKey"],
      }),
    ).toThrow(invalid("hostKey.fingerprint"));
  });

  test("a way to log in is required; numbers are checked", () => {
    expect(() => resolveSshOptions({ host: "lab1", hostKey: "insecure-accept-any" })).toThrow(
      /privateKey/,
    );
    expect(() => resolveSshOptions({ ...base, port: 0 })).toThrow(invalid("port"));
    expect(() => resolveSshOptions({ ...base, maxSessions: 2 })).toThrow(invalid("maxSessions"));
    expect(() => resolveSshOptions({ ...base, connectTimeoutMs: -5 })).toThrow(
      invalid("connectTimeoutMs"),
    );
    expect(() => resolveSshOptions({ ...base, timeoutMs: Number.NaN })).toThrow(
      invalid("timeoutMs"),
    );
    expect(() => resolveSshOptions({ ...base, keepaliveIntervalMs: Infinity })).toThrow(
      invalid("keepaliveIntervalMs"),
    );
    expect(() => resolveSshOptions({ ...base, host: "" })).toThrow(invalid("host"));
    expect(resolveSshOptions({ ...base, connectTimeoutMs: Infinity }).connectTimeoutMs).toBe(
      Infinity,
    );
  });

  test("an unknown option is refused, naming it: { socket } is not silently ignored", () => {
    const withSocket = { ...base, socket: {} } as unknown as SshHostOptions;
    expect(() => connectSshHost(withSocket)).toThrow(invalid("options.socket"));
    expect(() => connectSshHost(withSocket)).toThrow(/options\.socket is not an option/);
    expect(() => connectSshHost({ ...base, prot: 22 } as unknown as SshHostOptions)).toThrow(
      invalid("options.prot"),
    );
  });

  test("sock: a duplex stream or a function; no port with it", () => {
    expect(() => connectSshHost({ ...base, sock: {} as never })).toThrow(invalid("sock"));
    expect(() => connectSshHost({ ...base, sock: "127.0.0.1:22" as never })).toThrow(
      invalid("sock"),
    );
    const opener = async () => new PassThrough();
    expect(() => connectSshHost({ ...base, sock: opener, port: 2222 })).toThrow(invalid("port"));
    expect(() => connectSshHost({ ...base, sock: opener, port: 2222 })).toThrow(
      /meaningless with sock/,
    );
    expect(resolveSshOptions({ ...base, user: "root", sock: opener })).toMatchObject({
      port: 22,
      name: "root@lab1",
    });
    expect(resolveSshOptions({ ...base, user: "root", sock: new PassThrough() }).name).toBe(
      "root@lab1",
    );
  });

  test("timeoutMs: 0 rejects with ERR_TIMEOUT before any connection attempt", async () => {
    // Nothing listens on lab1.invalid: a connection attempt would fail with ERR_HOST_CONNECT.
    await expect(
      connectSshHost({ ...base, host: "lab1.invalid", timeoutMs: 0 }),
    ).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      timeoutMs: 0,
      host: expect.stringMatching(/@lab1\.invalid:22$/),
    });
    const aborted = AbortSignal.abort(new Error("no"));
    await expect(
      connectSshHost({ ...base, host: "lab1.invalid", signal: aborted }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });
  test("a secret of the wrong type is refused without showing it", () => {
    const caught = (options: SshHostOptions) => {
      try {
        resolveSshOptions(options);
      } catch (error) {
        return error as Error & { field?: string };
      }
      throw new Error("not refused");
    };
    const cases: [Partial<SshHostOptions>, string][] = [
      [{ password: 918273645 as unknown as string }, "password"],
      [{ passphrase: 918273645 as unknown as string }, "passphrase"],
      [{ privateKey: 918273645 as unknown as string }, "privateKey"],
    ];
    for (const [secret, field] of cases) {
      const error = caught({ ...base, ...secret });
      expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field });
      expect(`${error.message}\n${error.stack}\n${JSON.stringify(error)}`).not.toContain(
        "918273645",
      );
    }
  });
});
