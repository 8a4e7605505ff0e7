import { makeTempDir, type TempDir } from "@qemu-kvm/testkit";
import { buildPublished, packPublished, type Tarball } from "../../src/pack.js";

/** The published packages, built and packed into a temporary directory; `remove()` it after. */
export interface Packed {
  dir: TempDir;
  tarballs: Tarball[];
}

export async function buildAndPack(): Promise<Packed> {
  await buildPublished();
  const dir = await makeTempDir("qk-pack-");
  try {
    return { dir, tarballs: await packPublished(dir.path) };
  } catch (error) {
    await dir.remove();
    throw error;
  }
}
