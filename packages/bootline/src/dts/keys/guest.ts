/** Keys about the guest, kept beside the spec in `DtsVm`: `login`, `start`, `def_driver`. */
import { type KeyHandler, oneEntry } from "../draft.js";

export const login: KeyHandler = (context) => {
  const entry = oneEntry(context, ["user", "password"]);
  if (!entry) return;
  context.draft.login = {
    ...(entry.has("user") ? { user: entry.get("user")! } : {}),
    ...(entry.has("password") ? { password: entry.get("password")! } : {}),
  };
};

export const start: KeyHandler = (context) => {
  const { reader, key } = context;
  const entry = oneEntry(context, [
    "wait_seconds",
    "login_timeout",
    "login_prompt",
    "password_prompt",
  ]);
  if (!entry) return;
  const wait = reader.integer(key, "wait_seconds", entry.get("wait_seconds"), 1, 86_400);
  const login = reader.integer(key, "login_timeout", entry.get("login_timeout"), 1, 86_400);
  context.draft.start = {
    ...(wait !== undefined ? { bootTimeoutMs: wait * 1000 } : {}),
    ...(login !== undefined ? { loginTimeoutMs: login * 1000 } : {}),
    ...(entry.has("login_prompt") ? { loginPrompt: entry.get("login_prompt")! } : {}),
    ...(entry.has("password_prompt") ? { passwordPrompt: entry.get("password_prompt")! } : {}),
  };
};

export const defDriver: KeyHandler = ({ reader, key, draft }) => {
  for (const [index, entry] of key.entries.entries()) {
    if (!reader.only(key, entry, index, ["driver_name", "driver_mode"])) continue;
    draft.guestDriver = {
      ...draft.guestDriver,
      ...(entry.has("driver_name") ? { name: entry.get("driver_name")! } : {}),
      ...(entry.has("driver_mode") ? { mode: entry.get("driver_mode")! } : {}),
    };
  }
};
