/**
 * How the serial console runs a command in the guest's shell and gets back its
 * exact output and exit status, whatever else the terminal shows.
 *
 * A login types one short line: a marker that proves a shell, and the guest
 * identity check (the shell's `read` of a file: no program runs). The first
 * operation that runs a command sets the shell up (see `setupLine`): defines
 * one shell function, `__qk`, that prints a finished command's status and
 * output between markers, and makes the login session's private directory in
 * the scratch directory (removed at logout), on the same line as its command
 * when both fit. Then one short input line per command (the "run line") does
 * it all:
 *
 *     rm -f PREVIOUS; { eval 'COMMAND'; } >DIR/N 2>&1 </dev/null; __qk_rc=$?; __qk TOKEN DIR/N MAX
 *
 * - The command runs in the login shell itself (`cd`, variables, functions
 *   persist), stdin from /dev/null (it cannot swallow later input), stdout and
 *   stderr into DIR/N, in order. The file is new for every run and removed by
 *   the next one (a daemon the command left running writes to a deleted file,
 *   never into a later command's output). DIR is root's (the login user's),
 *   mode 0700, with a random name: no other guest user can plant a symlink
 *   where the output goes, however predictable N is.
 * - `__qk` prints `QKS:TOKEN:STATUS`, the output size, its MD5 and the output in
 *   base64, then `QKE:TOKEN`. The markers are assembled by printf from separate
 *   words, so the terminal's echo of the line never contains them; TOKEN is
 *   random for every run, so no output can forge them.
 * - Prompt-like text, `login:`, fake markers, a 0xFF byte or binary junk in the
 *   output are just bytes in base64. A kernel message printed on the console in
 *   the middle (at any byte) is cut out by its `[ seconds.micros] ` header;
 *   anything else that damages the transfer fails the size/MD5 check, and
 *   `__qk` sends it again from FILE (kept until the next run).
 * - The echo costs about 0.2 ms per character on a TCG guest, and each program
 *   (`mkdir`) a fork and an exec, tens of milliseconds: hence the function
 *   rather than the whole script on every line, and the set-up left to the
 *   first command (a login that runs none pays for none of it).
 */

import { InvalidArgumentError } from "@qemu-kvm/core";

/** Longest run line we type: busybox's line editor takes at most 1023 characters. */
export const MAX_LINE_CHARS = 900;
/** Longest piece of a long command per line (before quoting). */
const CHUNK_CHARS = 400;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** `text` as one single-quoted shell word (`'` written `'\''`). */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The longest scratch directory: the run line names its output files three
 * times, and must stay within `MAX_LINE_CHARS` (a unit test checks the worst case).
 */
export const MAX_SCRATCH_CHARS = 100;

/** `.qk-` and 12 random hexadecimal digits: a login session's private directory. */
export function privateDirectoryName(scratchDirectory: string, random: string): string {
  return `${scratchDirectory === "/" ? "" : scratchDirectory}/.qk-${random}`;
}

export interface SetupLineInput {
  /** The login session's private directory (see `privateDirectoryName`). */
  directory: string;
  /** Earlier sessions' directories, removed first. */
  stale: readonly string[];
  /** Tokens of the markers printed when the directory was made, and when it was not. */
  made: string;
  failed: string;
  /** What runs once the directory is made (the first run line). */
  next?: string | undefined;
}

/**
 * The line that sets a shell up for the run protocol, typed by the first
 * operation that needs it (not at login): removes earlier sessions'
 * directories, defines `__qk`, makes this session's directory, prints the
 * marker `made` (or `failed`: nothing more runs) and runs `next`.
 * `mkdir -m 700` creates the directory with mode 0700 (or less, by the umask)
 * from the start, with no subshell to fork, and fails on a name that exists,
 * a symlink included: it never follows one.
 */
export function setupLine(input: SetupLineInput): string {
  const { directory, stale, made, failed, next } = input;
  const remove = stale.length > 0 ? `${removalLine(stale)}; ` : "";
  const body = next ? `${syncLine(made)}; ${next}` : syncLine(made);
  return `${remove}${TRANSFER_FUNCTION}; if mkdir -m 700 ${directory}; then ${body}; else ${syncLine(failed)}; fi`;
}

/**
 * Earlier directories a set-up line removes (more wait for the next set-up,
 * logout or close); a unit test checks that the longest such line fits.
 */
export const MAX_STALE_PER_SETUP = 2;
/** Directories per removal line (each at most `MAX_SCRATCH_CHARS` + 17 characters). */
const REMOVED_PER_LINE = 6;

/** Removes private directories (`rm -rf`: a symlink at their name is removed, not followed). */
function removalLine(directories: readonly string[]): string {
  return `rm -rf ${directories.join(" ")}`;
}

/** `removalLine`s for `directories`, a few per line (none for none). */
export function removalLines(directories: readonly string[]): string[] {
  const lines: string[] = [];
  for (let start = 0; start < directories.length; start += REMOVED_PER_LINE)
    lines.push(removalLine(directories.slice(start, start + REMOVED_PER_LINE)));
  return lines;
}

/** A path the run line uses unquoted: absolute, made of safe characters, short. */
export function checkScratchPath(path: unknown): void {
  if (
    typeof path !== "string" ||
    !/^\/[A-Za-z0-9._/-]*$/.test(path) ||
    path.includes("//") ||
    path.length > MAX_SCRATCH_CHARS
  )
    throw new InvalidArgumentError(
      "options.scratchDirectory",
      `an absolute path of letters, digits, '.', '_', '-' and '/' (at most ${MAX_SCRATCH_CHARS} characters)`,
      path,
    );
}

export interface CommandDelivery {
  /** Lines to type first, one at a time, each acknowledged (empty for short commands). */
  preludes: string[];
  /** The shell words that run the command, e.g. `eval 'ls -l'`. */
  evalWords: string;
}

/**
 * How to get `command` into the shell intact. Short printable ASCII: inline,
 * single-quoted. Long: assembled in `__qk_c` by several lines. With control
 * characters (newline, tab: the line editor would act on them) or non-ASCII:
 * base64 of its UTF-8 bytes in `__qk_c`, decoded by the guest's `base64 -d`.
 */
export function deliverCommand(command: string): CommandDelivery {
  if (command.includes("\0"))
    throw new InvalidArgumentError("command", "a string without NUL", command, {
      problem: "must not contain NUL",
    });
  if (PRINTABLE_ASCII.test(command)) {
    const quoted = shellQuote(command);
    if (quoted.length <= CHUNK_CHARS) return { preludes: [], evalWords: `eval ${quoted}` };
    return { preludes: assemble(quotedChunks(command, CHUNK_CHARS)), evalWords: `eval "$__qk_c"` };
  }
  const encoded = Buffer.from(command, "utf8").toString("base64");
  return {
    preludes: assemble(chunks(encoded, CHUNK_CHARS).map((piece) => `'${piece}'`)),
    evalWords: `eval "$(printf '%s' "$__qk_c" | base64 -d)"`,
  };
}

function chunks(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let offset = 0; offset < text.length; offset += size)
    pieces.push(text.slice(offset, offset + size));
  return pieces;
}

/** `text` cut into pieces whose quoted form (`'` costs 4 characters) fits in `size`. */
function quotedChunks(text: string, size: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let cost = 2;
  for (let index = 0; index < text.length; index++) {
    const charCost = text[index] === "'" ? 4 : 1;
    if (cost + charCost > size) {
      pieces.push(shellQuote(text.slice(start, index)));
      start = index;
      cost = 2;
    }
    cost += charCost;
  }
  pieces.push(shellQuote(text.slice(start)));
  return pieces;
}

function assemble(quotedPieces: string[]): string[] {
  return quotedPieces.map((piece, index) =>
    index === 0 ? `__qk_c=${piece}` : `__qk_c="$__qk_c"${piece}`,
  );
}

/**
 * The function the run lines call; defined by the setup line (and again if the
 * shell lost it). Short, since every character typed is echoed: no spaces the
 * shell does not need; arguments quoted all the same (a command may have set
 * `IFS`).
 */
export const TRANSFER_FUNCTION =
  '__qk(){ unset __qk_c;printf \'%s:%s:%s\\n\' QKS "$1" "$__qk_rc";' +
  '[ -e "$2" ]||printf \'%s:%s\\n\' QKN "$1";' +
  'if [ -s "$2" ];then set -- "$1" "$2" "$3" $(wc -c <"$2");echo "$4";' +
  'if [ "$4" -le "$3" ];then md5sum <"$2";base64 "$2";' +
  'else head -c "$3" "$2"|md5sum;head -c "$3" "$2"|base64;fi;fi;' +
  "printf '%s:%s\\n' QKE \"$1\";}";

export interface RunLineInput {
  evalWords: string;
  token: string;
  file: string;
  /** The previous run's output file, removed now. */
  previousFile: string | undefined;
  maxOutputBytes: number;
}

/** The run line (without its final newline). */
export function runLine(input: RunLineInput): string {
  const { evalWords, token, file, previousFile } = input;
  const remove = previousFile ? `rm -f ${previousFile}; ` : "";
  return `${remove}{ ${evalWords}; } >${file} 2>&1 </dev/null; __qk_rc=$?; ${transferScript(token, file, input.maxOutputBytes)}`;
}

/** Sends the output of the last run (again): its file and `$__qk_rc` are still there. */
export function transferScript(token: string, file: string, maxOutputBytes: number): string {
  return `__qk ${token} ${file} ${maxOutputBytes}`;
}

/** A line that prints `QKR:TOKEN`: proof that a shell reads and runs our input. */
export function syncLine(token: string): string {
  return `printf '%s:%s\\n' QKR ${token}`;
}

/**
 * Reads the first line of `file` with the shell's `read` (no program runs) and
 * prints `QKI:TOKEN:STATUS:LINE`, the marker assembled by printf from separate
 * words (the echo never contains it). `file` is checked by `checkGuestIdentity`.
 */
export function identityFileLine(file: string, token: string): string {
  return `IFS= read -r __qk_id <${file}; printf '%s:%s:%s:%s\\n' QKI ${token} "$?" "$__qk_id"; unset __qk_id`;
}

/** What an identity file line prints before the status and the line it read. */
export function identityMarker(token: string): string {
  return `QKI:${token}:`;
}

/** What a sync line prints. */
export function syncMarker(token: string): string {
  return `QKR:${token}`;
}
