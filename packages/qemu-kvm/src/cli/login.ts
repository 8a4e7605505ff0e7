/**
 * The console login from what the user gave: never argv. The password comes
 * from `--password-file`, else `QEMU_KVM_PASSWORD`; a DTS section's login
 * fills in what neither gives (the facade folds it in).
 */
import type { LoginOptions } from "../vm/options.js";
import type { LoginSource } from "./invocation.js";
import type { Env } from "./io.js";
import { readBounded } from "./limits.js";

const MAX_PASSWORD_FILE_BYTES = 4096;

/** The login to pass to the facade: only what was given (undefined fields are left to a DTS section, then `root`). */
export async function loginOf(source: LoginSource, env: Env, verb: string): Promise<LoginOptions> {
  let password: string | undefined;
  if (source.passwordFile !== undefined) {
    const text = await readBounded(
      source.passwordFile,
      MAX_PASSWORD_FILE_BYTES,
      "--password-file",
      verb,
    );
    // The first line, as `echo secret > file` writes it.
    password = text.split(/\r?\n/, 1)[0]!;
  } else if (env.QEMU_KVM_PASSWORD !== undefined) {
    password = env.QEMU_KVM_PASSWORD;
  }
  return {
    ...(source.user !== undefined ? { user: source.user } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}
