import { hostConformance } from "./conformance.js";

hostConformance("createLocalHost");
