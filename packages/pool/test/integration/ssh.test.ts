import { sshTest } from "../helpers/fixtures.js";
import { neighbourSuite } from "./neighbour-suite.js";
import { poolSuite } from "./pool-suite.js";

poolSuite(sshTest, "ssh");
neighbourSuite(sshTest, "ssh");
