import { fileURLToPath } from "node:url";

/** packages/monitor/src/schema/: where the generated files live. */
export const SCHEMA_DIRECTORY = fileURLToPath(
  new URL("../../../packages/monitor/src/schema/", import.meta.url),
);
