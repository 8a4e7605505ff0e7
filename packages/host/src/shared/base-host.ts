import type { Duplex } from "node:stream";
import { type InspectOptionsStylized, inspect } from "node:util";
import {
  type CallOptions,
  checkCallOptions,
  type Deadline,
  InvalidArgumentError,
} from "@qemu-kvm/core";
import type {
  DirEntry,
  FileStat,
  Host,
  MakeDirOptions,
  PrivateDirOptions,
  PutFileOptions,
  PutFileResult,
  ReadDirOptions,
  ReadFileOptions,
  RemoveOptions,
  WriteFileOptions,
} from "../host.js";
import { checkData, checkMode, checkOneOf, checkValue } from "./arguments.js";
import { DEFAULT_MAX_FILE_BYTES } from "./bounded-read.js";
import { CommandHost } from "./command-host.js";
import { type LocalSource, openLocalSource } from "./local-source.js";
import { checkCount, checkFilePath, checkPath, withoutTrailingSlashes } from "./paths.js";

export const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * Everything the two transports share, on top of commands and processes
 * (`CommandHost`) and the lifecycle (`HostLifecycle`): the file, directory and
 * socket operations, their argument checks (synchronous, before anything runs)
 * and deadlines. Each transport implements the `protected abstract` methods:
 * when their deadline stops, they stop what they started and reject.
 */
export abstract class BaseHost extends CommandHost implements Host {
  abstract readonly transport: "local" | "ssh";

  /**
   * What is safe to show of the host, and all that `util.inspect` (so
   * `console.log`) and `JSON.stringify` show: never an option, a secret or a
   * connection's internals.
   */
  protected facts(): Record<string, unknown> {
    return { transport: this.transport, name: this.name };
  }

  toJSON(): Record<string, unknown> {
    return this.facts();
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    const label = this.transport === "ssh" ? "SshHost" : "LocalHost";
    return `${options.stylize(label, "special")} ${inspect(this.facts(), options)}`;
  }

  /** The file's bytes, at most `maxBytes` (more: `ERR_HOST_FILE_TOO_LARGE`, never allocated). */
  protected abstract readFileImpl(
    path: string,
    maxBytes: number,
    deadline: Deadline,
  ): Promise<Buffer>;
  protected abstract writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<void>;
  protected abstract removeImpl(
    path: string,
    recursive: boolean,
    deadline: Deadline,
  ): Promise<void>;
  protected abstract makePrivateDirImpl(
    parent: string | undefined,
    prefix: string,
    deadline: Deadline,
  ): Promise<string>;
  protected abstract existsImpl(path: string, deadline: Deadline): Promise<boolean>;
  protected abstract makeDirImpl(
    path: string,
    mode: number,
    parents: boolean,
    deadline: Deadline,
  ): Promise<void>;
  protected abstract readDirImpl(
    path: string,
    maxEntries: number,
    deadline: Deadline,
  ): Promise<DirEntry[]>;
  protected abstract statImpl(path: string, deadline: Deadline): Promise<FileStat | undefined>;
  protected abstract renameImpl(from: string, to: string, deadline: Deadline): Promise<void>;
  /** Copies `source` to `path` (temporary file, then rename); resolves the bytes copied. */
  protected abstract putFileImpl(
    source: LocalSource,
    path: string,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<number>;
  protected abstract connectUnixImpl(path: string, deadline: Deadline): Promise<Duplex>;
  protected abstract connectTcpImpl(
    host: string,
    port: number,
    deadline: Deadline,
  ): Promise<Duplex>;

  readFile(path: string, options?: ReadFileOptions & { encoding?: "buffer" }): Promise<Buffer>;
  readFile(path: string, options: ReadFileOptions & { encoding: "utf8" }): Promise<string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string> {
    const checked: ReadFileOptions = checkCallOptions(options, ["encoding", "maxBytes"]);
    checkValue(path, "path");
    checkOneOf(checked.encoding, ["buffer", "utf8"], "encoding");
    checkCount(checked.maxBytes, "maxBytes");
    const maxBytes = checked.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    return this.run("readFile", path, checked, async (deadline) => {
      const data = await this.readFileImpl(path, maxBytes, deadline);
      return checked.encoding === "utf8" ? data.toString("utf8") : data;
    });
  }

  writeFile(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void> {
    const checked: WriteFileOptions = checkCallOptions(options, ["mode"]);
    checkValue(path, "path");
    if (data === undefined)
      throw new InvalidArgumentError("data", "a string or a Uint8Array", data);
    checkData(data, "data");
    checkMode(checked.mode);
    const bytes =
      typeof data === "string"
        ? Buffer.from(data, "utf8")
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.run("writeFile", path, checked, (deadline) =>
      this.writeFileImpl(path, bytes, checked.mode, deadline),
    );
  }

  remove(path: string, options?: RemoveOptions): Promise<void> {
    const checked: RemoveOptions = checkCallOptions(options, ["recursive"]);
    checkValue(path, "path");
    checkOneOf(checked.recursive, [true, false], "recursive");
    if (path === "" || path === "/")
      throw new InvalidArgumentError("path", "a path other than / or empty", path, {
        problem: "is refused: removing it is never meant",
      });
    return this.run("remove", path, checked, (deadline) =>
      this.removeImpl(path, checked.recursive === true, deadline),
    );
  }

  makePrivateDir(options?: PrivateDirOptions): Promise<string> {
    const checked: PrivateDirOptions = checkCallOptions(options, ["prefix", "parent"]);
    const prefix = checked.prefix ?? "qk-";
    checkValue(prefix, "prefix");
    if (prefix.includes("/")) throw new InvalidArgumentError("prefix", "a name without /", prefix);
    if (checked.parent !== undefined) checkValue(checked.parent, "parent");
    return this.run("makePrivateDir", checked.parent ?? "", checked, (deadline) =>
      this.makePrivateDirImpl(checked.parent, prefix, deadline),
    );
  }

  exists(path: string, options?: CallOptions): Promise<boolean> {
    const checked = checkCallOptions(options);
    checkValue(path, "path");
    return this.run("exists", path, checked, (deadline) => this.existsImpl(path, deadline));
  }

  makeDir(path: string, options?: MakeDirOptions): Promise<void> {
    const checked: MakeDirOptions = checkCallOptions(options, ["mode", "parents"]);
    checkPath(path, "path");
    checkMode(checked.mode);
    checkOneOf(checked.parents, [true, false], "parents");
    // "dir/" would make lstat follow a symlink named dir.
    const target = withoutTrailingSlashes(path);
    return this.run("makeDir", target, checked, (deadline) =>
      this.makeDirImpl(target, checked.mode ?? 0o700, checked.parents === true, deadline),
    );
  }

  readDir(path: string, options?: ReadDirOptions): Promise<DirEntry[]> {
    const checked: ReadDirOptions = checkCallOptions(options, ["maxEntries"]);
    checkPath(path, "path");
    checkCount(checked.maxEntries, "maxEntries");
    return this.run("readDir", path, checked, async (deadline) => {
      const entries = await this.readDirImpl(
        path,
        checked.maxEntries ?? DEFAULT_MAX_ENTRIES,
        deadline,
      );
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  stat(path: string, options?: CallOptions): Promise<FileStat | undefined> {
    const checked = checkCallOptions(options);
    checkPath(path, "path");
    const target = withoutTrailingSlashes(path);
    return this.run("stat", target, checked, (deadline) => this.statImpl(target, deadline));
  }

  rename(from: string, to: string, options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    checkPath(from, "from");
    checkPath(to, "to");
    return this.run("rename", `${from} ${to}`, checked, (deadline) =>
      this.renameImpl(from, to, deadline),
    );
  }

  putFile(localPath: string, remotePath: string, options?: PutFileOptions): Promise<PutFileResult> {
    const checked: PutFileOptions = checkCallOptions(options, ["mode"]);
    checkPath(localPath, "localPath");
    checkFilePath(remotePath, "remotePath");
    checkMode(checked.mode);
    const started = performance.now();
    return this.run("putFile", remotePath, checked, async (deadline) => {
      const source = await openLocalSource(localPath, deadline);
      try {
        const bytes = await this.putFileImpl(source, remotePath, checked.mode, deadline);
        return { bytes, durationMs: performance.now() - started };
      } finally {
        await source.close();
      }
    });
  }

  connectUnix(path: string, options?: CallOptions): Promise<Duplex> {
    const checked = checkCallOptions(options);
    checkValue(path, "path");
    return this.run("connectUnix", path, checked, async (deadline) =>
      this.trackStream(await this.connectUnixImpl(path, deadline)),
    );
  }

  connectTcp(host: string, port: number, options?: CallOptions): Promise<Duplex> {
    const checked = checkCallOptions(options);
    checkValue(host, "host");
    if (host === "") throw new InvalidArgumentError("host", "an address or host name", host);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InvalidArgumentError("port", "an integer from 1 to 65535", port);
    return this.run("connectTcp", `${host}:${port}`, checked, async (deadline) =>
      this.trackStream(await this.connectTcpImpl(host, port, deadline)),
    );
  }
}
