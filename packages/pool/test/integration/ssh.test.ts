import { sshTest } from "../helpers/fixtures.js";
import { poolSuite } from "./pool-suite.js";

poolSuite(sshTest, "ssh");
