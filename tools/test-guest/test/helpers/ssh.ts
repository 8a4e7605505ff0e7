/**
 * Runs a command in the guest through the system OpenSSH client and the
 * forwarded port, retrying until the guest's dropbear answers or the deadline.
 */
import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";

const COMMON = [
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
  "-o",
  "ConnectTimeout=10",
  "-o",
  "ServerAliveInterval=5",
  "-o",
  "ServerAliveCountMax=2",
];

export interface SshTarget {
  port: number;
  user: string;
  /** Key authentication (BatchMode). */
  privateKeyPath?: string;
  /** Password authentication through SSH_ASKPASS; needs a directory for the helper. */
  password?: { value: string; directory: string };
}

function runSsh(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      "ssh",
      args,
      { env, timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `ssh … user@127.0.0.1 command`; resolves with stdout once it succeeds. */
export async function sshRun(
  target: SshTarget,
  command: string,
  { timeoutMs = 60_000, attemptMs = 15_000 } = {},
): Promise<string> {
  const args = [...COMMON, "-p", String(target.port)];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (target.privateKeyPath) {
    args.push("-i", target.privateKeyPath, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes");
    args.push("-o", "PasswordAuthentication=no");
  } else if (target.password) {
    const askpass = join(target.password.directory, "askpass.sh");
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${target.password.value}'\n`);
    await chmod(askpass, 0o700);
    Object.assign(env, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" });
    args.push("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password");
    args.push("-o", "NumberOfPasswordPrompts=1");
  }
  args.push(`${target.user}@127.0.0.1`, command);
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const result = await runSsh(args, env, Math.min(attemptMs, deadline - Date.now()));
    if (result.code === 0) return result.stdout;
    last = `exit ${result.code}: ${result.stderr.trim()}`;
    // Authentication failures will not heal with time: stop at once.
    if (/Permission denied/.test(result.stderr)) break;
  }
  throw new Error(`ssh to port ${target.port} failed: ${last}`);
}
