import { packageTests } from "../../vitest.shared.js";

// Integration tests on the system's QEMU (7.2) and on 10.0: see vitest.shared.ts.
export default packageTests({ qemuMatrix: true });
