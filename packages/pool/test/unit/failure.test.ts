import { QemuKvmError } from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { anchorFailure } from "../../src/anchor/failure.js";
import type { Response } from "../../src/anchor/response.js";
import { PoolHostError, PoolUnsafeError } from "../../src/index.js";

function response(detail: string, sections: Response["sections"] = []): Response {
  return { sections, status: "error", detail };
}

describe("an anchor's error answer", () => {
  test("a refused path is ERR_POOL_UNSAFE with its kind, path and reason", () => {
    const error = anchorFailure(
      "lab1",
      response("unsafe it is a symbolic link, which the pool never follows", [
        { tag: "unsafe", args: "lock", body: "/srv/my pool/lock\n" },
      ]),
      { committed: false },
    );
    expect(PoolUnsafeError.isInstance(error) && QemuKvmError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      name: "PoolUnsafeError",
      code: "ERR_POOL_UNSAFE",
      host: "lab1",
      kind: "lock",
      path: "/srv/my pool/lock",
      reason: "it is a symbolic link, which the pool never follows",
      message:
        "pool on lab1: refused the lock file /srv/my pool/lock: it is a symbolic link, which the pool never follows",
    });
  });

  test("anything else, or a refusal without a known kind, is ERR_POOL_HOST with the anchor's reason", () => {
    expect(
      anchorFailure("lab1", response("missing-tool flock is not installed"), { committed: false }),
    ).toMatchObject({
      code: "ERR_POOL_HOST",
      reason: "missing-tool",
      message: "pool on lab1: flock is not installed",
      committed: false,
    });
    const odd = anchorFailure(
      "lab1",
      response("unsafe it is odd", [{ tag: "unsafe", args: "socket", body: "/x\n" }]),
    );
    expect(PoolHostError.isInstance(odd)).toBe(true);
    expect(odd).toMatchObject({ reason: "unsafe", committed: undefined });
  });
});
