import { localTarget } from "../helpers.js";
import { poolSuite } from "./pool-suite.js";

poolSuite(localTarget());
