import { Duplex } from "node:stream";

export interface Request {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: number;
}

export interface FakeAgentOptions {
  /** False: the agent is not running yet (see `start()`). Default true. */
  running?: boolean;
  /** While not running, lose what is written instead of holding it. Default false. */
  losesWhileStopped?: boolean;
}

/** What the fake does with one request: a reply (return value or error), nothing, or later. */
export type Handler = (
  request: Request,
  agent: FakeAgent,
) => { return: unknown } | { error: { class: string; desc: string } } | "silent" | undefined;

/**
 * A qemu-ga at the other end of an in-memory stream, with its wire habits:
 * a 0xFF byte resets its parser (and earns an error reply), each line is one
 * JSON request, a line that is not JSON earns an error without id,
 * `guest-sync-delimited` answers after a 0xFF, replies echo the request id.
 */
export class FakeAgent extends Duplex {
  readonly requests: Request[] = [];
  readonly raw: Buffer[] = [];
  /** Until `start()`, requests wait (the agent is not running yet). */
  running: boolean;
  /** While not running, what is written is lost, not held (a guest that dropped it). */
  readonly #losesWhileStopped: boolean;
  #pending = "";
  #held: Buffer[] = [];
  #writeWatchers: Array<() => boolean> = [];
  handler: Handler;

  constructor(handler: Handler = () => undefined, options: FakeAgentOptions = {}) {
    super();
    this.handler = handler;
    this.running = options.running ?? true;
    this.#losesWhileStopped = options.losesWhileStopped ?? false;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.raw.push(Buffer.from(chunk));
    if (this.running) this.#receive(chunk);
    else if (!this.#losesWhileStopped) this.#held.push(Buffer.from(chunk));
    this.#writeWatchers = this.#writeWatchers.filter((check) => !check());
    callback();
  }

  /** Resolves once the client has written `count` guest-sync-delimited requests in all. */
  syncsWritten(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const done = this.syncCount >= count;
        if (done) resolve();
        return done;
      };
      if (!check()) this.#writeWatchers.push(check);
    });
  }

  /** The guest-sync-delimited requests written so far (received or not). */
  get syncCount(): number {
    return Buffer.concat(this.raw).toString("latin1").split('"guest-sync-delimited"').length - 1;
  }

  start(): void {
    this.running = true;
    for (const chunk of this.#held.splice(0)) this.#receive(chunk);
  }

  send(text: string | Buffer): void {
    this.push(typeof text === "string" ? Buffer.from(text, "utf8") : text);
  }

  reply(message: unknown): void {
    this.send(`${JSON.stringify(message)}\n`);
  }

  hangUp(): void {
    this.push(null);
  }

  #receive(chunk: Buffer): void {
    for (const byte of chunk) {
      if (byte === 0xff) {
        // The parser resets, with an error for the stray byte.
        this.#reset();
        this.reply({ error: { class: "GenericError", desc: "JSON parse error, stray '\uFFFD'" } });
      } else {
        this.#char(String.fromCharCode(byte));
      }
    }
  }

  // A JSON streamer like QEMU's: an object ends when its braces balance, so an
  // unclosed `{` swallows what follows, silently.
  #depth = 0;
  #inString = false;
  #escaped = false;

  #reset(): void {
    this.#pending = "";
    this.#depth = 0;
    this.#inString = false;
    this.#escaped = false;
  }

  #char(char: string): void {
    if (this.#depth === 0) {
      if (/\s/.test(char)) {
        this.#garbage();
        return;
      }
      if (char !== "{" && char !== "[") {
        this.#pending += char;
        if (char === "}" || char === "]") this.#garbage();
        return;
      }
      this.#garbage();
    }
    this.#pending += char;
    if (this.#inString) {
      if (this.#escaped) this.#escaped = false;
      else if (char === "\\") this.#escaped = true;
      else if (char === '"') this.#inString = false;
      return;
    }
    if (char === '"') this.#inString = true;
    else if (char === "{" || char === "[") this.#depth++;
    else if (char === "}" || char === "]") {
      this.#depth--;
      if (this.#depth === 0) {
        const text = this.#pending;
        this.#pending = "";
        let request: Request;
        try {
          request = JSON.parse(text) as Request;
        } catch {
          this.reply({ error: { class: "GenericError", desc: "JSON parse error" } });
          return;
        }
        this.requests.push(request);
        this.#answer(request);
      }
    }
  }

  /** Text outside any object (a stray word or brace) earns an error. */
  #garbage(): void {
    if (this.#depth !== 0 || this.#pending.trim() === "") {
      if (this.#depth === 0) this.#pending = "";
      return;
    }
    this.#pending = "";
    this.reply({ error: { class: "GenericError", desc: "JSON parse error, invalid keyword" } });
  }

  #answer(request: Request): void {
    if (request.execute === "guest-sync-delimited") {
      this.send(
        Buffer.concat([
          Buffer.from([0xff]),
          Buffer.from(`${JSON.stringify({ return: request.arguments?.id })}\n`),
        ]),
      );
      return;
    }
    const answer = this.handler(request, this) ?? defaultAnswer(request);
    if (answer === "silent") return;
    this.reply({ ...answer, ...(request.id === undefined ? {} : { id: request.id }) });
  }

  /** The requests of `command` received so far. */
  of(command: string): Request[] {
    return this.requests.filter((request) => request.execute === command);
  }
}

function defaultAnswer(
  request: Request,
): { return: unknown } | { error: { class: string; desc: string } } {
  switch (request.execute) {
    case "guest-ping":
      return { return: {} };
    default:
      return {
        error: {
          class: "CommandNotFound",
          desc: `The command ${request.execute} has not been found`,
        },
      };
  }
}
