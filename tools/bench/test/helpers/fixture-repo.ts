/**
 * A tiny pnpm workspace in a git repository (test/fixtures/against-repo): one
 * library with a `generation` and a benchmark that reports it, for running the
 * real `pnpm bench --against` CLI on.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { cp, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const fixture = fileURLToPath(new URL("../fixtures/against-repo", import.meta.url));
const benchDirectory = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(benchDirectory, "src", "cli.ts");

const GIT_IDENTITY = ["-c", "user.name=fixture", "-c", "user.email=fixture@example.invalid"];

export async function git(repo: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", [...GIT_IDENTITY, ...args], { cwd: repo, timeout: 60_000 });
  return stdout;
}

/**
 * Copies the fixture into `directory`, installs it (lockfile included) and commits
 * it with the library at generation 1; then sets the working tree's library to
 * generation 2, uncommitted.
 */
export async function createFixtureRepo(directory: string): Promise<string> {
  const repo = join(directory, "repo");
  await cp(fixture, repo, { recursive: true });
  await rename(join(repo, "gitignore"), join(repo, ".gitignore"));
  await run("pnpm", ["install", "--offline"], { cwd: repo, timeout: 120_000 });
  await git(repo, "init", "--quiet");
  await git(repo, "add", "-A");
  await git(repo, "commit", "--quiet", "--no-gpg-sign", "-m", "generation 1");
  const lib = join(repo, "packages", "lib", "src", "index.ts");
  const source = await readFile(lib, "utf8");
  await writeFile(lib, source.replace("generation: number = 1", "generation: number = 2"));
  return repo;
}

/** The worktrees git knows of in `repo` (the main one included). */
export async function worktrees(repo: string): Promise<string[]> {
  const listing = await git(repo, "worktree", "list", "--porcelain");
  return listing
    .split("\n")
    .filter((line) => line.startsWith("worktree "))
    .map((line) => line.slice("worktree ".length));
}

export interface BenchRun {
  child: ChildProcess;
  /** Everything printed so far (bounded to the last 1 MB of each stream). */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects if the process exits first. */
  waitForOutput(text: string): Promise<void>;
  /** The exit code (a signal counts as failure: null). */
  exited: Promise<number | null>;
}

const MAX_KEPT = 1024 * 1024;

/** Starts the real CLI (`tsx --conditions=@qemu-kvm/source src/cli.ts`) on `repo`. */
export function startBench(
  repo: string,
  args: readonly string[],
  env: Record<string, string>,
): BenchRun {
  const child = spawn(
    process.execPath,
    ["--conditions=@qemu-kvm/source", "--import", "tsx", cli, "--repo", repo, ...args],
    { cwd: benchDirectory, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out = (out + chunk).slice(-MAX_KEPT);
    for (const waiter of waiters) waiter();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err = (err + chunk).slice(-MAX_KEPT);
  });
  const exited = once(child, "close").then(() => child.exitCode);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!out.includes(text)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        exited.then(() => {
          waiters.delete(check);
          reject(new Error(`exited before printing ${text}:\n${out}\n${err}`));
        });
        check();
      }),
  };
}

/** The path of the old tree, from the CLI's "before: REV = COMMIT in PATH" line, if printed. */
export function findWorktreePath(stdout: string): string | undefined {
  return /^before: \S+ = [0-9a-f]{40} in (\S+)$/m.exec(stdout)?.[1];
}

/** The same, for a run that must have printed it. */
export function worktreePath(stdout: string): string {
  const path = findWorktreePath(stdout);
  if (path === undefined) throw new Error(`no worktree line in:\n${stdout}`);
  return path;
}
