import type { Options } from "tsup";

/** The build every package shares: ESM for Node 20, with declarations. */
export function packageBuild(entry: string[] = ["src/index.ts"]): Options {
  return {
    entry,
    format: ["esm"],
    target: "node20",
    platform: "node",
    sourcemap: true,
    clean: true,
    splitting: false,
    // tsup 8 with TypeScript 6: the .d.ts step trips over `baseUrl` (TS5101).
    dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  };
}
