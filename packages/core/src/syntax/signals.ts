/**
 * Signal names for the numbers a Linux guest reports (the guest agent's
 * `guest-exec-status`, a shell's `128 + N`). A table, not `os.constants`: the
 * controller may run elsewhere than Linux, the guest is Linux on x86.
 */
const LINUX_SIGNALS: readonly (NodeJS.Signals | undefined)[] = [
  undefined,
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/**
 * The name of Linux signal `number` (`9` → `SIGKILL`); real-time signals
 * (32–64) and unknown numbers have none and give `undefined`.
 */
export function linuxSignalName(number: number): NodeJS.Signals | undefined {
  return Number.isInteger(number) ? LINUX_SIGNALS[number] : undefined;
}
