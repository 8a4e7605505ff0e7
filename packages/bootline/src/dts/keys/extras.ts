/** Keys that add to the command line: `usercmd` (raw arguments) and `crypto` (vhost-user devices). */
import { type KeyHandler, oneEntry } from "../draft.js";

/** What a shell would have read in `usercmd` (DTS ran it through one): refused. */
const SHELL_SPECIAL = /["'`$\\|&;<>(){}*?~#!]/;

export const usercmd: KeyHandler = ({ reader, key, draft }) => {
  for (const [index, entry] of key.entries.entries()) {
    if (!reader.only(key, entry, index, ["cmd"])) continue;
    const cmd = entry.get("cmd") ?? "";
    if (SHELL_SPECIAL.test(cmd)) {
      reader.issue(
        key,
        `cmd=${cmd} holds shell syntax (DTS ran it through a shell); give plain space-separated arguments`,
      );
      continue;
    }
    draft.extraArgs.push(...cmd.split(/\s+/).filter((word) => word !== ""));
  }
};

export const crypto: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  const entry = oneEntry(context, ["enable", "opt_num"]);
  if (!entry) return;
  const enable = reader.yesNo(key, "enable", entry.get("enable"));
  const count = reader.integer(key, "opt_num", entry.get("opt_num") || undefined, 1, 64) ?? 1;
  if (enable)
    for (let index = 0; index < count; index++) draft.crypto.push({ backend: "vhost-user" });
};
