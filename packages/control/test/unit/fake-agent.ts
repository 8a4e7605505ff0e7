import { Duplex } from "node:stream";

export interface Request {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: number;
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
  #pending = "";
  #held: Buffer[] = [];
  handler: Handler;

  constructor(handler: Handler = () => undefined, options: { running?: boolean } = {}) {
    super();
    this.handler = handler;
    this.running = options.running ?? true;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.raw.push(Buffer.from(chunk));
    if (!this.running) this.#held.push(Buffer.from(chunk));
    else this.#receive(chunk);
    callback();
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
    let bytes = chunk;
    for (;;) {
      const delimiter = bytes.indexOf(0xff);
      this.#pending += bytes
        .subarray(0, delimiter === -1 ? bytes.length : delimiter)
        .toString("utf8");
      this.#lines();
      if (delimiter === -1) return;
      this.#pending = ""; // the parser resets…
      this.reply({ error: { class: "GenericError", desc: "JSON parse error, stray '\uFFFD'" } });
      bytes = bytes.subarray(delimiter + 1);
    }
  }

  #lines(): void {
    let newline = this.#pending.indexOf("\n");
    while (newline !== -1) {
      const line = this.#pending.slice(0, newline);
      this.#pending = this.#pending.slice(newline + 1);
      newline = this.#pending.indexOf("\n");
      if (line.trim() === "") continue;
      let request: Request;
      try {
        request = JSON.parse(line) as Request;
      } catch {
        this.reply({ error: { class: "GenericError", desc: "JSON parse error, invalid keyword" } });
        continue;
      }
      this.requests.push(request);
      this.#answer(request);
    }
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
