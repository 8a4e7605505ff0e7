import { localHost } from "../../src/index.js";
import { hostConformance } from "./conformance.js";

hostConformance("localHost", { open: async () => localHost() });
