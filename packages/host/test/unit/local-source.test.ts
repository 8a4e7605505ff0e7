import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Deadline } from "@qemu-kvm/core";
import { test } from "@qemu-kvm/testkit/fixtures";
import { expect } from "vitest";
import { COPY_CHUNK, openLocalSource } from "../../src/shared/local-source.js";
import { temporaryPath } from "../../src/shared/paths.js";

test("putFile's source is read in chunks of at most 64 KiB, one at a time, whole", async ({
  tempDir,
}) => {
  const path = join(tempDir.path, "image");
  const data = randomBytes(5 * COPY_CHUNK + 123);
  await writeFile(path, data);
  using deadline = new Deadline("test");
  const source = await openLocalSource(path, deadline);
  try {
    expect(source.size).toBe(data.length);
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const chunk of source.chunks()) {
      sizes.push(chunk.length);
      parts.push(chunk);
    }
    expect(sizes).toEqual([...Array(5).fill(COPY_CHUNK), 123]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  } finally {
    await source.close();
  }
});

test("a source that is missing or not a regular file is ERR_HOST_SYSTEM of the local host", async ({
  tempDir,
}) => {
  using deadline = new Deadline("test");
  await expect(openLocalSource(join(tempDir.path, "none"), deadline)).rejects.toMatchObject({
    code: "ERR_HOST_SYSTEM",
    systemCode: "ENOENT",
    host: "local",
  });
  await expect(openLocalSource(tempDir.path, deadline)).rejects.toMatchObject({
    systemCode: "EISDIR",
  });
  await expect(openLocalSource("/dev/null", deadline)).rejects.toMatchObject({
    systemCode: "EINVAL",
  });
});

test("the temporary file is hidden beside the target, with a new name each time", () => {
  expect(temporaryPath("/var/cache/qk/vmlinux")).toMatch(
    /^\/var\/cache\/qk\/\.vmlinux\.qk-[0-9a-f]{12}\.part$/,
  );
  expect(temporaryPath("vmlinux")).toMatch(/^\.vmlinux\.qk-[0-9a-f]{12}\.part$/);
  expect(temporaryPath("a/b")).not.toBe(temporaryPath("a/b"));
});
