import { type CallOptions, withDeadline } from "@qemu-kvm/core";
import { QmpSchema, type QmpSchemaEntry } from "./schema.js";

/**
 * One connection's schema: fetched (`query-qmp-schema`) on first need and
 * kept; a failed fetch is not kept, so the next need tries again. Strict mode
 * checks commands against it before they are sent.
 */
export class SchemaCache {
  readonly #fetch: () => Promise<QmpSchemaEntry[]>;
  readonly #qemuVersion: () => string;
  #schema: QmpSchema | undefined;
  #loading: Promise<QmpSchema> | undefined;

  /** `fetch` sends `query-qmp-schema`; `qemuVersion` names the QEMU in errors (`7.2.22`). */
  constructor(fetch: () => Promise<QmpSchemaEntry[]>, qemuVersion: () => string) {
    this.#fetch = fetch;
    this.#qemuVersion = qemuVersion;
  }

  /** The schema, within the caller's deadline (`options` checked already). */
  get(options: CallOptions, defaultTimeoutMs: number): Promise<QmpSchema> {
    if (this.#schema) return Promise.resolve(this.#schema);
    return withDeadline("query-qmp-schema", options, { defaultTimeoutMs }, () => this.#load());
  }

  /**
   * Checks `command` and `args` against the schema (loaded first if need be)
   * and only then calls `send`; rejects with `ERR_QMP_UNKNOWN_COMMAND` or
   * `ERR_QMP_UNKNOWN_ARGUMENT` without calling it. Once the schema is loaded
   * the check is synchronous and `send` gets the caller's own deadline.
   */
  checkThenSend<T>(
    command: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
    defaultTimeoutMs: number,
    send: (signal: AbortSignal | undefined, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const schema = this.#schema;
    if (schema) {
      try {
        schema.check(command, args);
      } catch (error) {
        return Promise.reject(error);
      }
      return send(options.signal, options.timeoutMs ?? defaultTimeoutMs);
    }
    return withDeadline(command, options, { defaultTimeoutMs }, async (signal) => {
      (await this.#load()).check(command, args);
      return send(signal, Number.POSITIVE_INFINITY);
    });
  }

  #load(): Promise<QmpSchema> {
    this.#loading ??= this.#fetch().then(
      (entries) => {
        this.#schema = new QmpSchema(entries, this.#qemuVersion());
        return this.#schema;
      },
      (error: unknown) => {
        this.#loading = undefined;
        throw error;
      },
    );
    return this.#loading;
  }
}
