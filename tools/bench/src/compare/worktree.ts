/**
 * The old tree of `pnpm bench --against <rev>`: a detached git worktree of `rev`
 * in a private temporary directory, its dependencies installed with pnpm, removed
 * again (`git worktree remove --force --force` + `git worktree prune`) when done.
 * (Twice `--force`: a `git worktree add` killed by Ctrl-C leaves its worktree
 * locked, and only a double force removes a locked one.)
 */
import { execFile, execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../cli-arguments.js";

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export interface ToolOptions {
  cwd: string;
  signal?: AbortSignal;
  timeoutMs: number;
}

/** Keeps the last `max` characters. */
function tail(text: string, max = 4_000): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

/** Runs `file args` (no shell) and resolves with its stdout; rejects with its stderr's tail. */
export function runTool(
  file: string,
  args: readonly string[],
  options: ToolOptions,
): Promise<string> {
  options.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        signal: options.signal,
        timeout: options.timeoutMs,
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if (options.signal?.aborted) return reject(options.signal.reason);
        const why = error.killed
          ? `killed after ${options.timeoutMs} ms`
          : error.message.split("\n")[0];
        const output = tail(`${stderr}${stdout}`.trim());
        reject(
          new Error(`${file} ${args.join(" ")} failed (${why})${output ? `:\n${output}` : ""}`, {
            cause: error,
          }),
        );
      },
    );
  });
}

export interface Worktree {
  /** The checkout of `rev`. */
  readonly path: string;
  /** The full commit id `rev` named. */
  readonly commit: string;
  /** Removes the worktree, its registration and the temporary directory. Idempotent; never throws. */
  remove(): Promise<string[]>;
  /** The same, synchronously: for a process that is exiting. */
  removeSync(): void;
}

const GIT_TIMEOUT_MS = 120_000;

/** The commit `rev` names in `repo`; a UsageError if it names none. */
export async function resolveCommit(
  repo: string,
  rev: string,
  signal?: AbortSignal,
): Promise<string> {
  const args = ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`];
  try {
    return (await runTool("git", args, { cwd: repo, signal, timeoutMs: GIT_TIMEOUT_MS })).trim();
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new UsageError(`${rev} names no commit in ${repo}`, { cause: error });
  }
}

/** Adds a detached worktree of `rev` of `repo` in a new private temporary directory. */
export async function addWorktree(
  repo: string,
  rev: string,
  signal?: AbortSignal,
): Promise<Worktree> {
  const commit = await resolveCommit(repo, rev, signal);
  const directory = await mkdtemp(join(tmpdir(), "qk-bench-"));
  const path = join(directory, "tree");
  let removed = false;
  const worktree: Worktree = {
    path,
    commit,
    async remove() {
      if (removed) return [];
      removed = true;
      const problems: string[] = [];
      const git = (args: string[]) =>
        runTool("git", args, { cwd: repo, timeoutMs: GIT_TIMEOUT_MS }).catch((error: Error) => {
          problems.push(error.message);
        });
      await git(["worktree", "remove", "--force", "--force", path]);
      await git(["worktree", "prune"]);
      await rm(directory, { recursive: true, force: true }).catch((error: Error) => {
        problems.push(error.message);
      });
      return problems;
    },
    removeSync() {
      if (removed) return;
      removed = true;
      for (const args of [
        ["worktree", "remove", "--force", "--force", path],
        ["worktree", "prune"],
      ]) {
        try {
          execFileSync("git", args, { cwd: repo, stdio: "ignore", timeout: GIT_TIMEOUT_MS });
        } catch {
          // Best effort: the directory is removed below and prune forgets it next time.
        }
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
  try {
    await runTool("git", ["worktree", "add", "--detach", path, commit], {
      cwd: repo,
      signal,
      timeoutMs: GIT_TIMEOUT_MS,
    });
  } catch (error) {
    await worktree.remove();
    throw error;
  }
  return worktree;
}

const INSTALL_TIMEOUT_MS = 600_000;

/**
 * `pnpm install --offline --frozen-lockfile` in `path`; if that fails (a package
 * missing from the store), the same without `--offline`. Resolves with the
 * command that worked.
 */
export async function installDependencies(path: string, signal?: AbortSignal): Promise<string> {
  const offline = ["install", "--offline", "--frozen-lockfile"];
  try {
    await runTool("pnpm", offline, { cwd: path, signal, timeoutMs: INSTALL_TIMEOUT_MS });
    return `pnpm ${offline.join(" ")}`;
  } catch (error) {
    if (signal?.aborted) throw error;
    const online = ["install", "--frozen-lockfile"];
    await runTool("pnpm", online, { cwd: path, signal, timeoutMs: INSTALL_TIMEOUT_MS });
    return `pnpm ${online.join(" ")} (offline failed: ${(error as Error).message.split("\n")[0]})`;
  }
}
