/** Files the command reads for the user, read whole but bounded. */
import { type FileHandle, open } from "node:fs/promises";
import { CommandLineError } from "./errors.js";

/**
 * The text of `path`, at most `maxBytes`. A missing, unreadable or larger file
 * is a `CommandLineError` naming `field` (`FILE`, `--password-file`).
 */
export async function readBounded(
  path: string,
  maxBytes: number,
  field: string,
  verb: string,
): Promise<string> {
  try {
    const file = await open(path, "r");
    try {
      return await readAll(file, maxBytes, field, verb, path);
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof CommandLineError) throw error;
    throw new CommandLineError({
      field,
      verb,
      value: path,
      cause: error,
      message: `${field} ${path} cannot be read: ${(error as Error).message}`,
    });
  }
}

async function readAll(
  file: FileHandle,
  maxBytes: number,
  field: string,
  verb: string,
  path: string,
): Promise<string> {
  const buffer = Buffer.alloc(maxBytes + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
    if (length > maxBytes)
      throw new CommandLineError({
        field,
        verb,
        value: path,
        message: `${field} ${path} is larger than ${maxBytes} bytes`,
      });
  }
  return buffer.subarray(0, length).toString("utf8");
}
