import { hostConformance } from "./conformance.js";

hostConformance("connectSshHost over a stream");
