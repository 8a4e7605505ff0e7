import { createHash } from "node:crypto";
import { Duplex } from "node:stream";

/** What a command does in the fake shell. */
export type FakeCommand =
  | { exitCode: number; output?: string | Buffer }
  /** Runs until Ctrl-C (or forever, if the shell ignores it). */
  | "hang"
  /** The shell exits: getty shows a login prompt. */
  | "exit";

export interface FakeShellOptions {
  user?: string;
  password?: string;
  /** Where the fake starts. Default "login". */
  state?: "login" | "password" | "shell";
  /** Print the login prompt as soon as the console connects (else only on a newline). Default false. */
  greet?: boolean;
  /** Output is pushed in chunks of this many bytes. Default 64. */
  chunkSize?: number;
  /** Lines of the terminal answered by a run line. */
  commands?: (command: string) => FakeCommand;
  /** Called with each output chunk of a run: return text to insert (a kernel message) or undefined. */
  intrude?: (chunkIndex: number) => string | undefined;
  /** Corrupt the base64 output of the first `n` transfers (a byte changed). */
  corruptTransfers?: number;
  /** Ctrl-C and Ctrl-\ do nothing (a program that ignores them). */
  ignoreInterrupts?: boolean;
  /** The identity command's answer. Default "QEMU". */
  dmiVendor?: string;
  /**
   * After "exit", getty's prompt comes a piece of this many bytes at a time, each in a
   * later turn of the event loop (as a slow serial line delivers it), not at once.
   */
  slowLoginPrompt?: number;
  /** `mkdir` in the scratch directory fails (it is read-only, or full). */
  readOnlyScratch?: boolean;
  /** `exit` ends a shell nested in the login shell (`su`, `sh`): its parent's prompt comes back. */
  nestedShell?: boolean;
  /**
   * Echo the password typed at `Password:` (busybox `login` prints its prompt
   * before it turns echo off), `chunkSize` bytes per arrival; with `stopAfter`,
   * only that many characters, then nothing more (a guest that hangs there).
   */
  echoPassword?: { chunkSize: number; stopAfter?: number };
}

const PROMPT = "root@guest:~# \x1b[6n";

/**
 * A guest serial console at the other end of an in-memory stream: getty,
 * busybox login and an ash that understands the console's own lines (sync
 * markers, run lines, command pieces), echoing input as a terminal does.
 */
export class FakeShell extends Duplex {
  readonly written: string[] = [];
  readonly writtenBytes: Buffer[] = [];
  readonly commandsRun: string[] = [];
  /** Files the login line read with the shell's `read` (the identity check). */
  readonly identityReads: string[] = [];
  state: "login" | "password" | "shell" | "busy";
  #line = "";
  #user = "";
  #variable = "";
  #lastOutput: Buffer = Buffer.alloc(0);
  #lastExit = 0;
  #transfers = 0;
  #queued: string[] = [];
  /** Whether the console's `__qk` function is defined in this shell. */
  functionDefined = false;
  /** How many times the console defined `__qk`. */
  functionDefinitions = 0;
  /** How many `rm -rf` of private directories the console typed. */
  removals = 0;
  /** `mkdir` in the scratch directory fails (from `options.readOnlyScratch`; may change). */
  readOnlyScratch: boolean;
  /** How many times the console typed `exit` (alone, or after `rm -rf DIR; `). */
  logouts = 0;
  /** The directories the console made (`mkdir`) and has not removed (`rm -rf`). */
  readonly directories = new Set<string>();
  readonly #options: FakeShellOptions;

  constructor(options: FakeShellOptions = {}) {
    super();
    this.#options = options;
    this.state = options.state ?? "login";
    this.readOnlyScratch = options.readOnlyScratch ?? false;
    if (options.greet) queueMicrotask(() => this.send("\r\nguest login: "));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writtenBytes.push(Buffer.from(chunk));
    const text = chunk.toString("utf8");
    this.written.push(text);
    for (const char of text) this.#key(char);
    callback();
  }

  /** Pushes `text` to the console in chunks. */
  send(text: string | Buffer): void {
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    const size = this.#options.chunkSize ?? 64;
    for (let offset = 0; offset < bytes.length; offset += size)
      this.push(bytes.subarray(offset, offset + size));
  }

  #sendSlowly(text: string, pieceSize: number | undefined): void {
    if (pieceSize === undefined) {
      this.send(text);
      return;
    }
    const pieces: string[] = [];
    for (let offset = 0; offset < text.length; offset += pieceSize)
      pieces.push(text.slice(offset, offset + pieceSize));
    const next = () => {
      const piece = pieces.shift();
      if (piece === undefined) return;
      this.send(piece);
      setTimeout(next, 2);
    };
    setTimeout(next, 2);
  }

  hangUp(): void {
    this.push(null);
  }

  get allWritten(): string {
    return this.written.join("");
  }

  #key(char: string): void {
    if (char === "\x03" || char === "\x1c") {
      if (this.state === "busy") {
        if (this.#options.ignoreInterrupts) return;
        this.state = "shell";
        this.#queued = []; // the terminal flushes typed-ahead input on an interrupt
        this.send(`^C\r\n${PROMPT}`);
      } else if (this.state === "shell") {
        this.#line = "";
        this.send(`^C\r\n${PROMPT}`);
      }
      return;
    }
    if (char !== "\n") {
      this.#line += char;
      return;
    }
    const line = this.#line;
    this.#line = "";
    if (this.state === "busy") {
      this.#queued.push(line); // read when the command is over
      return;
    }
    this.#enter(line);
  }

  #enter(line: string): void {
    switch (this.state) {
      case "login":
        this.send(`${line}\r\n`);
        if (line === "") {
          this.send("\r\nguest login: ");
        } else {
          this.#user = line;
          this.state = "password";
          this.send("Password: ");
        }
        return;
      case "password": {
        const echo = this.#options.echoPassword;
        if (echo) {
          const shown = line.slice(0, echo.stopAfter ?? line.length);
          for (let offset = 0; offset < shown.length; offset += echo.chunkSize)
            this.push(Buffer.from(shown.slice(offset, offset + echo.chunkSize)));
          if (echo.stopAfter !== undefined) {
            this.state = "busy";
            return;
          }
        }
        this.send("\r\n");
        if (this.#user === (this.#options.user ?? "root") && line === this.#options.password) {
          this.state = "shell";
          this.send(`\r\nBusyBox v1.35.0 built-in shell (ash)\r\n\r\n${PROMPT}`);
        } else {
          this.state = "login";
          this.send("Login incorrect\r\nguest login: ");
        }
        return;
      }
      case "shell":
        this.send(`${line}\r\n`);
        this.#shellLine(line);
        return;
      default:
        return;
    }
  }

  #shellLine(line: string): void {
    line = this.#removeDirectories(line);
    line = this.#defineFunction(line);
    if (this.#makeDirectory(line)) return;
    const sync = /printf '%s:%s\\n' QKR ([0-9a-f]+)$/.exec(line);
    const prelude = /^__qk_c=(?:"\$__qk_c")?(.*); printf '%s:%s\\n' QKR ([0-9a-f]+)$/.exec(line);
    if (prelude) {
      const piece = unquote(prelude[1]!);
      this.#variable = line.startsWith('__qk_c="$__qk_c"') ? this.#variable + piece : piece;
      this.send(`QKR:${prelude[2]}\r\n${PROMPT}`);
      return;
    }
    const read =
      /^IFS= read -r __qk_id <(\S+); printf '%s:%s:%s:%s\\n' QKI ([0-9a-f]+) "\$\?" "\$__qk_id"; unset __qk_id$/.exec(
        line,
      );
    if (read) {
      // The shell's own `read` of the file's first line: no command runs.
      const effect = this.#run(`cat ${read[1]}`);
      const output = effect === "hang" || effect === "exit" ? "" : String(effect.output ?? "");
      const newline = output.indexOf("\n");
      const exitCode =
        effect !== "hang" && effect !== "exit" && effect.exitCode === 0 && newline >= 0 ? 0 : 1;
      this.identityReads.push(read[1]!);
      this.send(
        `QKI:${read[2]}:${exitCode}:${newline >= 0 ? output.slice(0, newline) : output}\r\n${PROMPT}`,
      );
      return;
    }
    const run = /\{ eval (.*); \} >(\S+) 2>&1 <\/dev\/null; __qk_rc=\$\?; (__qk .*)$/.exec(line);
    if (run) {
      const words = run[1]!;
      let command: string;
      if (words === '"$__qk_c"') command = this.#variable;
      else if (words.startsWith('"$(printf'))
        command = Buffer.from(this.#variable, "base64").toString("utf8");
      else command = unquote(words);
      this.commandsRun.push(command);
      const effect = this.#run(command);
      if (effect === "hang") {
        this.state = "busy";
        return;
      }
      if (effect === "exit") {
        this.#loggedOut();
        return;
      }
      this.#lastExit = effect.exitCode;
      const output = effect.output ?? "";
      this.#lastOutput = typeof output === "string" ? Buffer.from(output, "utf8") : output;
      this.#transfer(run[3]!);
      return;
    }
    if (line.startsWith("__qk ")) {
      this.#transfer(line);
      return;
    }
    if (sync) {
      this.send(`QKR:${sync[1]}\r\n${PROMPT}`);
      return;
    }
    if (line === "exit") {
      this.logouts++;
      if (this.#options.nestedShell) this.send(PROMPT);
      else this.#loggedOut();
      return;
    }
    if (line === "") {
      this.send(PROMPT);
      return;
    }
    this.send(`-sh: ${line.split(" ")[0]}: not found\r\n${PROMPT}`);
  }

  /** `__qk(){ … }; REST` → REST, the function defined. */
  #defineFunction(line: string): string {
    if (!line.startsWith("__qk(){ ")) return line;
    this.functionDefined = true;
    this.functionDefinitions++;
    const end = `QKE "$1";}`;
    return line.slice(line.indexOf(end) + end.length).replace(/^; /, "");
  }

  /** `if mkdir -m 700 DIR; then printf …MADE[; REST]; else printf …FAILED; fi`. */
  #makeDirectory(line: string): boolean {
    const found =
      /^if mkdir -m 700 (\S+); then printf '%s:%s\\n' QKR (\w+)(?:; (.*))?; else printf '%s:%s\\n' QKR (\w+); fi$/.exec(
        line,
      );
    if (!found) return false;
    const [, directory, made, rest, failed] = found as unknown as [
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    if (this.readOnlyScratch || this.directories.has(directory)) {
      this.send(`mkdir: can't create directory '${directory}': Read-only file system\r\n`);
      this.send(`QKR:${failed}\r\n${PROMPT}`);
      return true;
    }
    this.directories.add(directory);
    this.send(`QKR:${made}\r\n`);
    if (rest) this.#shellLine(rest);
    else this.send(PROMPT);
    return true;
  }

  /** `rm -rf DIR…; REST` → REST, each DIR forgotten (and `rm -rf DIR…` alone → ""). */
  #removeDirectories(line: string): string {
    const removal = /^rm -rf ([^;]+?)(?:; (.*))?$/.exec(line);
    if (!removal) return line;
    for (const directory of removal[1]!.split(" ")) this.directories.delete(directory);
    this.removals++;
    return removal[2] ?? "";
  }

  /** The shell exited: getty's prompt (in pieces with `slowLoginPrompt`). */
  #loggedOut(): void {
    this.state = "login";
    this.functionDefined = false;
    this.#sendSlowly("\r\nguest login: ", this.#options.slowLoginPrompt);
  }

  #run(command: string): FakeCommand {
    if (command === "cat /sys/class/dmi/id/sys_vendor")
      return { exitCode: 0, output: `${this.#options.dmiVendor ?? "QEMU"}\n` };
    return (
      this.#options.commands?.(command) ?? { exitCode: 127, output: `-sh: ${command}: not found\n` }
    );
  }

  /** Prints the markers and output as the guest's shell does for the transfer part of the line. */
  #transfer(script: string): void {
    if (!this.functionDefined) {
      this.send(`-sh: __qk: not found\r\n${PROMPT}`);
      return;
    }
    const [, token, , max] = /^__qk ([0-9a-f]+) (\S+) (\d+)$/.exec(script)!;
    const output = this.#lastOutput;
    let text = `QKS:${token}:${this.#lastExit}\r\n`;
    if (output.length > 0) {
      const sent = output.subarray(0, Number(max));
      let encoded = sent.toString("base64");
      this.#transfers++;
      if (this.#transfers <= (this.#options.corruptTransfers ?? 0))
        encoded = (encoded[0] === "A" ? "B" : "A") + encoded.slice(1);
      const lines = encoded.match(/.{1,76}/g) ?? [];
      text += `${output.length}\r\n${createHash("md5").update(sent).digest("hex")}  -\r\n`;
      text += lines.map((line) => `${line}\r\n`).join("");
    }
    text += `QKE:${token}\r\n${PROMPT}`;
    this.#sendWithIntrusions(text);
  }

  #sendWithIntrusions(text: string): void {
    const intrude = this.#options.intrude;
    if (!intrude) {
      this.send(text);
      return;
    }
    const size = this.#options.chunkSize ?? 64;
    let index = 0;
    for (let offset = 0; offset < text.length; offset += size, index++) {
      this.send(text.slice(offset, offset + size));
      const extra = intrude(index);
      if (extra) this.send(extra);
    }
  }

  /** Ends a "hang" command as if it finished by itself. */
  finish(exitCode = 0, output = ""): void {
    if (this.state !== "busy") return;
    this.state = "shell";
    this.#lastExit = exitCode;
    this.#lastOutput = Buffer.from(output);
    this.send(PROMPT);
    for (const line of this.#queued.splice(0)) this.#enter(line);
  }
}

/** Undoes the console's single quoting: `'a'\''b'` → `a'b`. */
export function unquote(words: string): string {
  let out = "";
  let i = 0;
  while (i < words.length) {
    if (words[i] === "'") {
      const end = words.indexOf("'", i + 1);
      out += words.slice(i + 1, end);
      i = end + 1;
    } else if (words[i] === "\\") {
      out += words[i + 1];
      i += 2;
    } else {
      throw new Error(`unexpected ${words[i]} in ${words}`);
    }
  }
  return out;
}
