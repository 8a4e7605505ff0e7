/**
 * What an anchor's `end error REASON MESSAGE` means to the caller:
 * `ERR_POOL_UNSAFE` for a path it refused to trust (`unsafe`, with an `unsafe
 * KIND` section holding the path), `ERR_POOL_HOST` for anything else.
 */
import { PoolHostError, type PoolPathKind, PoolUnsafeError } from "../errors.js";
import type { Response } from "./response.js";

const KINDS: readonly string[] = ["state-dir", "lock", "state-file"] satisfies PoolPathKind[];

/** The error of a response whose status is `error`; `committed: false` when the anchor certainly wrote nothing. */
export function anchorFailure(
  hostName: string,
  response: Response,
  options: { committed?: false } = {},
): PoolHostError | PoolUnsafeError {
  const [reason = "error", ...words] = response.detail.split(" ");
  const message = words.join(" ") || response.detail;
  const unsafe = response.sections.find((section) => section.tag === "unsafe");
  if (reason === "unsafe" && unsafe && KINDS.includes(unsafe.args))
    return new PoolUnsafeError(
      hostName,
      unsafe.args as PoolPathKind,
      unsafe.body.replace(/\n$/, ""),
      message,
    );
  return new PoolHostError(hostName, reason, message, { committed: options.committed });
}
