/**
 * Nothing the SSH host hands out shows a secret: not the host itself, nor its
 * processes, streams, results and errors, however they are printed
 * (`util.inspect` at any depth with hidden properties, `JSON.stringify`,
 * `console.log`), before and after a reconnection, nor after a failed login.
 * Against a real sshd (testkit's), with an encrypted key and a password.
 */

import { Console } from "node:console";
import { appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { inspect } from "node:util";
import { startSshd } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import ssh2 from "ssh2";
import { describe, expect } from "vitest";
import { connectSshHost, type SshHost, type SshHostOptions } from "../../src/index.js";
import { sshOptions } from "../helpers/ssh.js";

const PASSWORD = "pw-Correct-Horse-7f3a9c";
const PASSPHRASE = "pp-Battery-Staple-91c2e";

/** A key pair encrypted with PASSPHRASE, and every form its secret takes. */
function encryptedKey() {
  const pair = ssh2.utils.generateKeyPairSync("ed25519", {
    passphrase: PASSPHRASE,
    cipher: "aes256-ctr",
    rounds: 4,
  });
  const parsed = ssh2.utils.parseKey(pair.private, PASSPHRASE);
  if (parsed instanceof Error || Array.isArray(parsed)) throw parsed;
  const pem = parsed.getPrivatePEM();
  // PKCS#8 DER of an ed25519 key ends with its 32-byte seed.
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  const seed = der.subarray(der.length - 32);
  return { pair, material: [...bodyLines(pair.private), ...bodyLines(pem), ...hexForms(seed)] };
}

/** The base64 lines of a PEM-like key text (what a printout of it would contain). */
function bodyLines(text: string): string[] {
  return text.split("\n").filter((line) => /^[A-Za-z0-9+/=]{20,}$/.test(line));
}

/** How `util.inspect` shows bytes (`<Buffer 70 77 …>`), and as plain hex. */
function hexForms(bytes: Buffer): string[] {
  const hex = bytes.subarray(0, 12).toString("hex");
  return [hex, hex.replace(/(..)(?!$)/g, "$1 ")];
}

const SECRETS = [
  PASSWORD,
  PASSPHRASE,
  ...hexForms(Buffer.from(PASSWORD)),
  ...hexForms(Buffer.from(PASSPHRASE)),
];

/** Every way a value gets printed. */
function printed(value: unknown): string {
  let logged = "";
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logged += String(chunk);
      callback();
    },
  });
  new Console({ stdout: sink, stderr: sink }).log(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  return [
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    inspect(value),
    json ?? "",
    logged,
    value instanceof Error ? `${value.message}\n${value.stack}` : "",
  ].join("\n");
}

function leaked(values: unknown[], secrets: string[]): string[] {
  const text = values.map(printed).join("\n");
  return secrets.filter((secret) => text.includes(secret));
}

const key = encryptedKey();

const test = base
  .extend("daemon", async ({ sshd }, { onCleanup }) => {
    appendFileSync(join(sshd.dir, "authorized_keys"), `${key.pair.public}\n`);
    onCleanup(async () => {
      sshd.resume();
      if (sshd.pid === undefined) await sshd.restart();
    });
    return sshd;
  })
  .extend(
    "options",
    async ({ daemon }): Promise<SshHostOptions> =>
      sshOptions(daemon, {
        privateKey: key.pair.private,
        passphrase: PASSPHRASE,
        password: PASSWORD,
      }),
  );

/** What a host hands out: a result, a process, a forwarded stream, errors. */
async function handedOut(host: SshHost): Promise<unknown[]> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const stream = await host.connectTcp("127.0.0.1", port);
    const sleeper = host.spawn("sleep", ["1000"]);
    await sleeper.pid;
    const result = await host.exec("echo", ["hello"]);
    const failed = await host.exec("sh", ["-c", "exit 3"]).catch((error: unknown) => error);
    const timedOut = await host.exec("sleep", ["10"], { timeoutMs: 200 }).catch((e) => e);
    const values = [host, result, failed, timedOut, sleeper, stream];
    stream.destroy();
    await sleeper.stop();
    return values;
  } finally {
    server.close();
  }
}

describe("secrets", () => {
  test("the host, what it hands out and its errors show no password, passphrase or key, also after a reconnection", async ({
    daemon,
    options,
  }) => {
    const secrets = [...SECRETS, ...key.material];
    await using host = await connectSshHost(options);
    expect(leaked(await handedOut(host), secrets)).toEqual([]);
    // What it shows is what is safe.
    expect(JSON.parse(JSON.stringify(host))).toEqual({
      transport: "ssh",
      name: host.name,
      hostKeyFingerprint: daemon.hostKeyFingerprint,
    });
    expect(inspect(host)).toContain(host.name);
    await daemon.stop();
    const lost = await host.exec("true").catch((error: unknown) => error);
    expect(lost).toMatchObject({ code: expect.stringMatching(/^ERR_HOST_CONNECT/) });
    await daemon.restart();
    expect((await host.exec("echo", ["back"])).stdout).toBe("back\n");
    expect(leaked([lost, ...(await handedOut(host))], secrets)).toEqual([]);
  });

  test("a failed login shows none either: a wrong passphrase, an unknown key, a wrong password", async ({
    daemon,
    options,
  }) => {
    const wrongPassphrase = await connectSshHost({
      ...options,
      passphrase: `${PASSPHRASE}x`,
    }).catch((error: unknown) => error);
    expect(wrongPassphrase).toMatchObject({ code: "ERR_HOST_AUTH" });
    const other = ssh2.utils.generateKeyPairSync("ed25519", {
      passphrase: PASSPHRASE,
      cipher: "aes256-ctr",
      rounds: 4,
    });
    const unknownKey = await connectSshHost({ ...options, privateKey: other.private }).catch(
      (error: unknown) => error,
    );
    expect(unknownKey).toMatchObject({ code: "ERR_HOST_AUTH" });
    await using withPasswords = await startSshd({ passwordAuthentication: true });
    const wrongPassword = await connectSshHost({
      host: withPasswords.host,
      port: withPasswords.port,
      user: withPasswords.user,
      password: PASSWORD,
      hostKey: { fingerprint: withPasswords.hostKeyFingerprint },
    }).catch((error: unknown) => error);
    expect(wrongPassword).toMatchObject({ code: "ERR_HOST_AUTH" });
    const secrets = [...SECRETS, ...key.material, ...bodyLines(other.private)];
    expect(leaked([wrongPassphrase, unknownKey, wrongPassword], secrets)).toEqual([]);
    expect(daemon.pid).toBeDefined();
  });
});
