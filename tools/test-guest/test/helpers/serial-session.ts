/**
 * A tiny expect-style helper over the launched guest's serial console, for these
 * tests only (the real console client, with telnet and robust framing, is
 * @qemu-kvm/control's).
 */
import type { GuestCredentials, LaunchedGuest } from "../../src/index.js";

/** Drops ANSI escape sequences (busybox's line editor sends `ESC[6n` after each prompt). */
export function stripEscapes(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}

export interface RunResult {
  exitCode: number;
  output: string;
}

export class SerialSession {
  private sequence = 0;

  constructor(private readonly vm: LaunchedGuest) {}

  write(text: string): void {
    this.vm.serial.write(text);
  }

  /** Logs in; resolves when the shell prompt shows. Returns ms since QEMU spawn. */
  async login(credentials: GuestCredentials, timeoutMs = 60_000): Promise<number> {
    const login = await this.vm.waitForOutput(credentials.loginPrompt, { timeoutMs });
    this.write(`${credentials.user}\n`);
    const password = await this.vm.waitForOutput(credentials.passwordPrompt, {
      timeoutMs: 10_000,
      from: login.end,
    });
    this.write(`${credentials.password}\n`);
    const suffix = credentials.shellPromptSuffix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // The prompt, then possibly busybox's cursor query.
    const shell = await this.vm.waitForOutput(new RegExp(`${suffix}(\\x1b\\[6n)?$`), {
      timeoutMs: 10_000,
      from: password.end,
    });
    return shell.sinceSpawnMs;
  }

  /**
   * Runs one shell command after login. Markers are typed with `""` inside so the
   * echoed command line never matches what the shell prints.
   */
  async run(command: string, timeoutMs = 30_000): Promise<RunResult> {
    const id = `${process.pid}_${++this.sequence}`;
    const from = this.vm.output().length;
    this.write(`echo __BEGIN""_${id}__; ${command}; echo __END""_${id}__ $?\n`);
    const begin = await this.vm.waitForOutput(`__BEGIN_${id}__`, { timeoutMs, from });
    const end = await this.vm.waitForOutput(new RegExp(`__END_${id}__ (\\d+)`), {
      timeoutMs,
      from: begin.end,
    });
    const text = this.vm.output().slice(begin.end, end.end);
    const match = /__END_\S+__ (\d+)$/.exec(text);
    const body = text.slice(0, text.lastIndexOf(`__END_${id}__`));
    return {
      exitCode: Number(match?.[1] ?? Number.NaN),
      output: stripEscapes(body).replace(/\r\n/g, "\n").replace(/^\n/, ""),
    };
  }
}
