/**
 * A hostile neighbour on a shared host: another user (`nobody`) who plants
 * files in a state directory the pool shares with it. The planting runs as
 * that user for real (`setpriv`, or `runuser` where there is no setpriv), so
 * the kernel treats it as it would treat an attacker. Needs root.
 *
 * The directories are made in the system's temporary directory, which every
 * user can enter (`nobody` may not be able to enter the test's own private one);
 * each is removed when the test ends.
 */
import { execFile } from "node:child_process";
import { chmod, chown, lstat, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, onTestFinished } from "vitest";

const run = promisify(execFile);

export interface User {
  uid: number;
  gid: number;
}

let nobodyIds: Promise<User> | undefined;

/** `nobody`'s uid and primary gid. */
export function nobody(): Promise<User> {
  nobodyIds ??= Promise.all([run("id", ["-u", "nobody"]), run("id", ["-g", "nobody"])]).then(
    ([uid, gid]) => ({ uid: Number(uid.stdout), gid: Number(gid.stdout) }),
  );
  return nobodyIds;
}

/** Runs `file args` as nobody, with nobody's group and no other. */
export async function asNobody(file: string, args: readonly string[]): Promise<void> {
  const { uid, gid } = await nobody();
  try {
    await run("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", file, ...args]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    await run("runuser", ["-u", "nobody", "--", file, ...args]);
  }
}

/** As nobody: a symbolic link at `path` to `target`. */
export function plantSymlink(target: string, path: string): Promise<void> {
  return asNobody("ln", ["-s", "--", target, path]);
}

/** As nobody: a file at `path` holding `content`, writable by everyone. */
export function plantFile(path: string, content: string): Promise<void> {
  return asNobody("sh", ["-c", 'umask 0; printf %s "$1" > "$2"', "sh", content, path]);
}

/**
 * A new directory of `mode` (chmod'ed, so the umask does not interfere), owned
 * by `owner` (default: this user, with `group` as its group if given).
 */
export async function sharedDir(mode: number, owner?: Partial<User>): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), "qk-shared-"));
  onTestFinished(() => rm(path, { recursive: true, force: true }));
  if (owner) await chown(path, owner.uid ?? process.getuid!(), owner.gid ?? process.getgid!());
  await chmod(path, mode);
  return path;
}

/** What a file is: its content and modification time (as lstat sees the name). */
async function snapshot(path: string) {
  const info = await lstat(path);
  return {
    symlink: info.isSymbolicLink(),
    uid: info.uid,
    mtimeMs: info.mtimeMs,
    content: info.isSymbolicLink() ? undefined : await readFile(path, "utf8"),
  };
}

/** A file of this user's an attacker would like the pool to write: `untouched()` checks it still is. */
export class Victim {
  private constructor(
    readonly path: string,
    readonly before: Awaited<ReturnType<typeof snapshot>>,
  ) {}

  /** A file holding `content`, dated 2001 (a write would move its mtime). */
  static async create(path: string, content = "precious\n"): Promise<Victim> {
    await writeFile(path, content, { mode: 0o600 });
    await utimes(path, new Date("2001-01-01T00:00:00Z"), new Date("2001-01-01T00:00:00Z"));
    return new Victim(path, await snapshot(path));
  }

  async expectUntouched(): Promise<void> {
    expect(await snapshot(this.path)).toEqual(this.before);
  }
}

/** A well-formed state file naming an owner and a lease, as an attacker would forge it. */
export const FORGED_STATE = [
  '{"format":"qemu-kvm-pool","version":1,"generation":1,"updatedAt":"2025-01-01T00:00:00.000Z"}',
  '{"owner":"intruder","holder":{"pid":1,"startTime":"1","bootId":"-","kind":"process"},"client":{"id":"x","machine":"m","pid":1},"since":"2025-01-01T00:00:00.000Z"}',
  '{"lease":"cpu","owner":"intruder","cpu":0,"shared":false,"since":"2025-01-01T00:00:00.000Z"}',
  '{"end":2}',
  "",
].join("\n");
