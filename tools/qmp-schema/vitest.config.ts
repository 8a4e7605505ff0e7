import { packageTests } from "../../vitest.shared.js";

// The committed schemas are regenerated from both QEMUs: see vitest.shared.ts.
export default packageTests({ bothQemus: true });
