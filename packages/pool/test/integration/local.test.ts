import { localTest } from "../helpers/fixtures.js";
import { neighbourSuite } from "./neighbour-suite.js";
import { poolSuite } from "./pool-suite.js";

poolSuite(localTest, "local");
neighbourSuite(localTest, "local");
