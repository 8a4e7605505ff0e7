import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { isAliveNow, statFields } from "./processes.js";
import { makeTempDir } from "./temp-dir.js";

/** The OpenSSH server binary (Debian's openssh-server). */
export const SSHD = process.env.SSHD ?? "/usr/sbin/sshd";
const SSH_KEYGEN = process.env.SSH_KEYGEN ?? "ssh-keygen";

export interface SshdOptions {
  /**
   * Allow password (and keyboard-interactive) authentication. sshd checks the
   * user's real password (no PAM), so this lets a test exercise the password path
   * (a wrong password is refused). Default false.
   */
  passwordAuthentication?: boolean;
  /**
   * Let the login shell read its startup files for commands. Default false: the
   * session gets `SHLVL=1` (sshd `SetEnv`), so bash skips ~/.bashrc, which it would
   * otherwise read for every command sshd runs; tests and benchmarks then do not
   * depend on (or pay for) this machine's shell setup.
   */
  shellStartupFiles?: boolean;
  /**
   * Variables set in every session (sshd `SetEnv`; values without quotes,
   * backslashes or line breaks), e.g. `{ BASH_ENV: "/path/script" }` to make bash
   * run a script before each command. `PATH` is this process's unless given here:
   * commands run over SSH find the same programs as the tests (the QEMU of the test
   * matrix's project, see vitest.shared.ts), not sshd's default `PATH`.
   */
  sessionEnv?: Readonly<Record<string, string>>;
  /**
   * Extra sshd_config lines (e.g. `["MaxSessions 3"]`). They come before the
   * fixture's own, so they override them (sshd keeps the first value of a keyword);
   * a `Match` line and everything after it go last, as sshd requires.
   */
  config?: readonly string[];
  /** Deadline for sshd to listen, per start. Default 30 000 ms. */
  timeoutMs?: number;
}

export interface SshdFixture extends AsyncDisposable {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** The user that logs in: the user running the tests. */
  readonly user: string;
  /** The client private key (OpenSSH format, ed25519, no passphrase). */
  readonly privateKey: string;
  readonly privateKeyPath: string;
  /** The client public key line, as in authorized_keys. */
  readonly publicKey: string;
  /** The server's public host key line (`ssh-ed25519 AAAA… comment`). */
  readonly hostPublicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  readonly hostKeyFingerprint: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…`: a known_hosts line for this server. */
  readonly knownHostsLine: string;
  /** A known_hosts file holding `knownHostsLine`. */
  readonly knownHostsPath: string;
  /** The private directory holding keys, config and pidfile. */
  readonly dir: string;
  /** The pid of the listening sshd, `undefined` while stopped. */
  readonly pid: number | undefined;
  /** OpenSSH client arguments that reach this server non-interactively (before the command). */
  sshArgs(): string[];
  /** Everything sshd logged (stderr, `-e`), newest last, capped at 1 MiB. */
  logs(): string;
  /**
   * Kills sshd and every process it started: the listener, each connection's
   * processes and the commands they run (SIGSTOP the whole tree, then SIGKILL, so
   * nothing escapes by reparenting). Clients see their connection drop. Keys and
   * config stay, so `restart()` can follow.
   */
  stop(): Promise<void>;
  /** Stops (if running) and starts again on the same port with the same host key. */
  restart(): Promise<void>;
  /**
   * Freezes (SIGSTOP) sshd and its connections, as a hung host or a network
   * partition would look to a client: TCP stays up, nothing answers.
   */
  pause(): void;
  /** Thaws what `pause()` froze. */
  resume(): void;
  /** `stop()` and remove the directory. Also `await using`. */
  close(): Promise<void>;
}

const live = new Set<{ kill(): void; dir: string }>();
process.once("exit", () => {
  for (const fixture of live) {
    fixture.kill();
    rmSync(fixture.dir, { recursive: true, force: true });
  }
});

/**
 * Starts a real OpenSSH server in the foreground (`sshd -D -e -f config`) on a free
 * 127.0.0.1 port, with its own host key, config, client key and authorized_keys in
 * a private temporary directory. Resolves once sshd logs "Server listening on"
 * (event-driven, no polling). Everything it starts is killed by `stop()`/`close()`,
 * and at process exit at the latest.
 *
 * sshd needs root (as here and in CI) and `/run/sshd`, which it creates if missing.
 */
export async function startSshd(options: SshdOptions = {}): Promise<SshdFixture> {
  const temp = await makeTempDir("qk-sshd-");
  const dir = temp.path;
  try {
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const hostKeyPath = join(dir, "host_ed25519");
    const privateKeyPath = join(dir, "client_ed25519");
    await Promise.all([
      keygen(hostKeyPath, "qk-sshd-host"),
      keygen(privateKeyPath, "qk-sshd-client"),
    ]);
    const [privateKey, publicKey, hostPublicKey] = await Promise.all([
      readFile(privateKeyPath, "utf8"),
      readFile(`${privateKeyPath}.pub`, "utf8").then((text) => text.trim()),
      readFile(`${hostKeyPath}.pub`, "utf8").then((text) => text.trim()),
    ]);
    await writeFile(join(dir, "authorized_keys"), `${publicKey}\n`, { mode: 0o600 });
    const user = userInfo().username;
    const server = new SshdServer(dir, hostKeyPath, options);
    live.add(server);
    await server.start();
    const port = server.port;
    const [keyType, keyBase64] = hostPublicKey.split(" ") as [string, string];
    const knownHostsLine = `[127.0.0.1]:${port} ${keyType} ${keyBase64}`;
    const knownHostsPath = join(dir, "known_hosts");
    await writeFile(knownHostsPath, `${knownHostsLine}\n`);
    await chmod(privateKeyPath, 0o600);
    const close = async () => {
      await server.stop();
      live.delete(server);
      await temp.remove();
    };
    return {
      host: "127.0.0.1",
      port,
      user,
      privateKey,
      privateKeyPath,
      publicKey,
      hostPublicKey,
      hostKeyFingerprint: fingerprint(keyBase64),
      knownHostsLine,
      knownHostsPath,
      dir,
      get pid() {
        return server.pid;
      },
      sshArgs: () => [
        "-i",
        privateKeyPath,
        "-p",
        String(port),
        "-o",
        `UserKnownHostsFile=${knownHostsPath}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
        "-F",
        "none",
        `${user}@127.0.0.1`,
      ],
      logs: () => server.log,
      stop: () => server.stop(),
      restart: async () => {
        await server.stop();
        await server.start();
      },
      pause: () => server.signalTree("SIGSTOP"),
      resume: () => server.signalTree("SIGCONT"),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await temp.remove();
    throw error;
  }
}

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, like `ssh-keygen -l`. */
function fingerprint(keyBase64: string): string {
  const digest = createHash("sha256").update(Buffer.from(keyBase64, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

async function keygen(path: string, comment: string): Promise<void> {
  await promisify(execFile)(SSH_KEYGEN, [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    comment,
    "-f",
    path,
  ]);
}

const LOG_CAP = 1024 * 1024;

class SshdServer {
  port = 0;
  log = "";
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #configPath: string;

  constructor(
    readonly dir: string,
    readonly hostKeyPath: string,
    readonly options: SshdOptions,
  ) {
    this.#configPath = join(dir, "sshd_config");
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    if (this.#child) return;
    // The first start picks a free port (and picks again if another process wins the
    // race for it); a restart keeps its port: sshd binds with SO_REUSEADDR, so the
    // connections of the previous run, even in TIME_WAIT, do not block it.
    const fixedPort = this.port !== 0;
    for (let attempt = 0; ; attempt++) {
      const port = fixedPort ? this.port : await freePort();
      await writeFile(this.#configPath, this.#config(port));
      try {
        await this.#spawn(port);
        this.port = port;
        return;
      } catch (error) {
        const lostRace = /Address already in use|Cannot bind any address/.test(String(error));
        if (!lostRace || fixedPort || attempt >= 5) throw error;
      }
    }
  }

  #config(port: number): string {
    const password = this.options.passwordAuthentication ? "yes" : "no";
    const extra = this.options.config ?? [];
    const match = extra.findIndex((line) => /^\s*Match\s/i.test(line));
    const [first, last] = match === -1 ? [extra, []] : [extra.slice(0, match), extra.slice(match)];
    return [
      ...first,
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${this.hostKeyPath}`,
      `PidFile ${join(this.dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(this.dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin yes",
      "PubkeyAuthentication yes",
      `PasswordAuthentication ${password}`,
      `KbdInteractiveAuthentication ${password}`,
      "AllowTcpForwarding yes",
      "AllowStreamLocalForwarding yes",
      "MaxSessions 1000",
      "MaxStartups 1000",
      "MaxAuthTries 20",
      "Subsystem sftp internal-sftp",
      "UseDNS no",
      "PrintMotd no",
      "PrintLastLog no",
      "LogLevel INFO",
      ...this.#setEnv(),
      ...last,
      "",
    ].join("\n");
  }

  /** One SetEnv line (sshd uses only the first), each pair in double quotes. */
  #setEnv(): string[] {
    const env = {
      ...(this.options.shellStartupFiles ? {} : { SHLVL: "1" }),
      ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
      ...this.options.sessionEnv,
    };
    const pairs = Object.entries(env).map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /["'\\\r\n]/.test(value))
        throw new Error(
          `sessionEnv ${name}: names must be identifiers, values without quotes, backslashes or line breaks`,
        );
      return `"${name}=${value}"`;
    });
    return pairs.length > 0 ? [`SetEnv ${pairs.join(" ")}`] : [];
  }

  async #spawn(port: number): Promise<void> {
    const child = spawn(SSHD, ["-D", "-e", "-f", this.#configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#child = child;
    const exited = once(child, "exit").then(() => {});
    exited.catch(() => {});
    this.#exited = exited;
    let pending = "";
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        this.log = (this.log + chunk).slice(-LOG_CAP);
        pending += chunk;
        if (pending.includes(`Server listening on 127.0.0.1 port ${port}.`)) resolve();
        pending = pending.slice(-200);
      });
      child.once("error", reject);
      child.once("exit", (code, signal) =>
        reject(
          new Error(`sshd exited (code ${code}, signal ${signal}) while starting:\n${this.log}`),
        ),
      );
    });
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      await ready;
    } catch (error) {
      this.#child = undefined;
      await exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The listener's pid while it runs. */
  #running(): number | undefined {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
    return child.pid;
  }

  /** Signals the listener and all its descendants at once (see `pause()`). */
  signalTree(signal: NodeJS.Signals): void {
    const root = this.#running();
    if (root === undefined) return;
    for (const pid of [root, ...descendants(root)]) signalQuietly(pid, signal);
  }

  /** SIGKILLs the whole tree (synchronous: also used at process exit); returns the pids. */
  kill(): number[] {
    const root = this.#running();
    if (root === undefined) return [];
    // Freeze first: a frozen process cannot fork, and its children are not
    // reparented (which would hide them from the tree walk) until it dies.
    const frozen = new Set<number>();
    for (;;) {
      const tree = [root, ...descendants(root)].filter((pid) => !frozen.has(pid));
      if (tree.length === 0) break;
      for (const pid of tree) {
        signalQuietly(pid, "SIGSTOP");
        frozen.add(pid);
      }
    }
    for (const pid of frozen) signalQuietly(pid, "SIGKILL");
    return [...frozen];
  }

  async stop(): Promise<void> {
    if (!this.#child) return;
    const killed = this.kill();
    await this.#exited;
    this.#child = undefined;
    // Only the listener is our child; the others have no exit event to wait on.
    // SIGKILL is final, so this settles quickly: check until each is gone (or a
    // zombie waiting for its reaper), bounded.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const alive = killed.filter(isAliveNow);
      if (alive.length === 0) return;
      if (Date.now() > deadline) throw new Error(`sshd processes survived SIGKILL: ${alive}`);
      await delay(5);
    }
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Every live descendant of `root`, from one scan of /proc (ppid links). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let ppid: number;
    try {
      ppid = Number(statFields(Number(name))[1]);
    } catch {
      continue;
    }
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}
