import { localTest } from "../helpers/fixtures.js";
import { poolSuite } from "./pool-suite.js";

poolSuite(localTest, "local");
