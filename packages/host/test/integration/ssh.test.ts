import { hostConformance } from "./conformance.js";

hostConformance("connectSshHost");
