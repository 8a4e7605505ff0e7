import type { SFTPWrapper } from "ssh2";
import { describe, expect, test } from "vitest";
import { readRest, type SequentialRead } from "../../src/shared/bounded-read.js";
import { readWholeFile } from "../../src/ssh/sftp.js";

class TooLarge extends Error {}

const bounds = (maxBytes: number) => ({
  maxBytes,
  tooLarge: () => new TooLarge(`more than ${maxBytes}`),
  throwIfStopped: () => {},
});

/**
 * An SFTP session as a hostile or broken server would answer: `size` is what
 * fstat claims, `content(position, length)` what each read returns.
 */
function fakeSftp(size: number, content: (position: number, length: number) => Buffer) {
  const reads: number[] = [];
  const sftp = {
    open: (_path: string, _flags: string, callback: (error: undefined, handle: Buffer) => void) =>
      callback(undefined, Buffer.from("h")),
    fstat: (_handle: Buffer, callback: (error: undefined, stats: unknown) => void) =>
      callback(undefined, { size, isDirectory: () => false }),
    read: (
      _handle: Buffer,
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: (error: Error | undefined, bytesRead: number) => void,
    ) => {
      reads.push(length);
      const data = content(position, length);
      if (data.length === 0) return callback(Object.assign(new Error("EOF"), { code: 1 }), 0);
      data.copy(buffer, offset);
      callback(undefined, data.length);
    },
    close: (_handle: Buffer, callback: (error: undefined) => void) => callback(undefined),
  };
  return { sftp: sftp as unknown as SFTPWrapper, reads };
}

describe("readWholeFile over SFTP: the size the server claims is never what is allocated", () => {
  test("a claimed size above maxBytes is refused before any read", async () => {
    const { sftp, reads } = fakeSftp(2 ** 50, () => Buffer.alloc(1));
    await expect(readWholeFile(sftp, "/f", bounds(1024))).rejects.toBeInstanceOf(TooLarge);
    expect(reads).toEqual([]);
  });

  test("a server that claims 0 bytes and never ends is cut one byte past maxBytes", async () => {
    const { sftp, reads } = fakeSftp(0, (_position, length) => Buffer.alloc(length, 7));
    await expect(readWholeFile(sftp, "/dev/zero", bounds(100_000))).rejects.toBeInstanceOf(
      TooLarge,
    );
    expect(reads.reduce((sum, length) => sum + length, 0)).toBe(100_001);
  });

  test("a file that grows past its claimed size is cut too; within the cap it is read whole", async () => {
    const data = Buffer.from("0123456789abcdef");
    const growing = fakeSftp(4, (position, length) => data.subarray(position, position + length));
    expect((await readWholeFile(growing.sftp, "/f", bounds(16))).equals(data)).toBe(true);
    const again = fakeSftp(4, (position, length) => data.subarray(position, position + length));
    await expect(readWholeFile(again.sftp, "/f", bounds(15))).rejects.toBeInstanceOf(TooLarge);
  });

  test("a negative or impossible claimed size is an error, not an allocation", async () => {
    for (const size of [-1, Number.NaN]) {
      const { sftp } = fakeSftp(size, () => Buffer.alloc(0));
      await expect(readWholeFile(sftp, "/f", bounds(1024))).rejects.toThrow(/claims a size/);
    }
  });
});

describe("readRest", () => {
  test("a peer answering one byte per read is read whole, and cut one byte past the cap", async () => {
    let served = 0;
    const read: SequentialRead = async (buffer, offset) => {
      if (served === 5000) return 0;
      buffer[offset] = served++ % 256;
      return 1;
    };
    const result = await readRest(read, Buffer.alloc(0), bounds(5000));
    expect(result.length).toBe(5000);
    expect(result[4999]).toBe(4999 % 256);
    served = 0;
    await expect(readRest(read, Buffer.alloc(0), bounds(4999))).rejects.toBeInstanceOf(TooLarge);
  });
});
