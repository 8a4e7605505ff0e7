/**
 * `qemu-kvm exec NAME -- CMD…`: take the VM up, run the command in the guest,
 * write its output, let the VM go; exit with the command's own status.
 */
import { formatCommandLine } from "@qemu-kvm/bootline";
import { attachVm } from "../vm/attach.js";
import type { ExecInvocation } from "./invocation.js";
import { type CliIo, write } from "./io.js";
import { loginOf } from "./login.js";
import { poolOptionsOf, withHost } from "./target.js";

/**
 * The words as one command line for the guest's shell, each quoted: the guest
 * runs exactly these arguments, as `docker exec` does. Shell syntax goes
 * through a shell of the user's choosing: `-- sh -c 'a | b'`.
 */
export function guestCommandLine(words: readonly string[]): string {
  return formatCommandLine(words[0]!, words.slice(1));
}

export async function runExec(invocation: ExecInvocation, io: CliIo): Promise<number> {
  const login = await loginOf(invocation.login, io.env, "exec");
  const poolOptions = poolOptionsOf(invocation.target);
  const runtimeBase = invocation.target.runtimeBase;
  const command = guestCommandLine(invocation.command);
  return withHost(invocation.target, io.env, io.signal, async (host) => {
    const vm = await attachVm(host, invocation.name, {
      login,
      signal: io.signal,
      ...(poolOptions ? { poolOptions } : {}),
      ...(runtimeBase ? { runtimeBase } : {}),
    });
    try {
      const result = await vm.exec(command, {
        signal: io.signal,
        ...(invocation.timeoutMs !== undefined ? { timeoutMs: invocation.timeoutMs } : {}),
      });
      await write(io.stdout, result.outputBytes);
      if (result.outputTruncated)
        await write(
          io.stderr,
          `qemu-kvm: the command printed more than the console keeps: its output above is cut\n`,
        );
      return result.exitCode;
    } finally {
      await vm.detach();
    }
  });
}
