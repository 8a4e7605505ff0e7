import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.shared.js";

const shared = packageBuild();

// The library (dist/index.js, with declarations) and the `qemu-kvm` command
// (dist/cli.js, the `bin`: its shebang comes from src/cli/main.ts).
export default defineConfig({
  ...shared,
  entry: { index: "src/index.ts", cli: "src/cli/main.ts" },
  dts: { entry: { index: "src/index.ts" }, compilerOptions: { ignoreDeprecations: "6.0" } },
});
