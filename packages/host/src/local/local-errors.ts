import { stat } from "node:fs/promises";
import { HostSpawnError } from "../errors/command-errors.js";
import { HostSystemError } from "../errors/host-errors.js";

/** The local host's name in errors. */
export const LOCAL = "local";

/** The errno name of a Node system error (`ENOENT`…), if it has one. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A spawn failure (`ENOENT`…) as `ERR_HOST_SPAWN`, telling a missing cwd from a missing file. */
export async function spawnError(
  argv: readonly string[],
  cwd: string | undefined,
  error: unknown,
): Promise<HostSpawnError> {
  const failure = (reason: HostSpawnError["reason"], detail: string) =>
    new HostSpawnError({ argv, reason, detail, host: LOCAL, cause: error });
  const code = errnoOf(error);
  if (code !== "ENOENT" && code !== "ENOTDIR" && code !== "EACCES")
    return failure("system", messageOf(error));
  if (cwd !== undefined) {
    const usable = await stat(cwd).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!usable) return failure("bad-cwd", `no directory ${cwd}`);
  }
  if (code === "EACCES") return failure("not-executable", `${argv[0]} is not executable`);
  return failure("not-found", `${argv[0]} not found`);
}

/** A failed file or process operation as `ERR_HOST_SYSTEM`, with its errno name. */
export function systemError(operation: string, error: unknown, path?: string): HostSystemError {
  return new HostSystemError({
    operation,
    systemCode: errnoOf(error) ?? "EIO",
    message: messageOf(error),
    host: LOCAL,
    path,
    cause: error,
  });
}
