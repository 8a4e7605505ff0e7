/** Keys of what the guest runs: `disk`, `pflash`, `kernel`, and `qemu` (the emulator). */
import type { DriveSpec } from "../../spec/vm-spec.js";
import { type KeyHandler, oneEntry } from "../draft.js";

const LIBVIRT_ONLY = "is libvirt-only: QEMUKvm never read it";

export const disk: KeyHandler = ({ reader, key, draft }) => {
  for (const [index, entry] of key.entries.entries()) {
    const allowed = ["file", "opt_format", "opt_if", "opt_index", "opt_media"];
    const rejected = { opt_bus: LIBVIRT_ONLY, opt_dev: LIBVIRT_ONLY, opt_controller: LIBVIRT_ONLY };
    if (!reader.only(key, entry, index, allowed, { rejected })) continue;
    const file = entry.get("file");
    if (!file) {
      reader.issue(key, "file= is missing");
      continue;
    }
    const driveIndex = reader.integer(
      key,
      "opt_index",
      entry.get("opt_index") || undefined,
      0,
      255,
    );
    // Values are checked by the spec's validation, which reports them with this key.
    const drive: Record<string, unknown> = { path: file };
    if (entry.get("opt_format")) drive.format = entry.get("opt_format");
    if (entry.get("opt_if")) drive.interface = entry.get("opt_if");
    if (driveIndex !== undefined) drive.index = driveIndex;
    if (entry.get("opt_media")) drive.media = entry.get("opt_media");
    draft.drives.push(drive as unknown as DriveSpec);
  }
};

export const pflash: KeyHandler = ({ reader, key, draft }) => {
  for (const [index, entry] of key.entries.entries()) {
    if (!reader.only(key, entry, index, ["file"])) continue;
    const file = entry.get("file");
    if (file) draft.pflash.push({ path: file });
    else reader.issue(key, "file= is missing");
  }
};

export const kernel: KeyHandler = (context) => {
  const { reader, key } = context;
  const entry = oneEntry(context, ["kernel_img", "console", "baudrate", "root"]);
  if (!entry) return;
  const path = entry.get("kernel_img");
  if (!path) {
    reader.issue(key, "kernel_img= is missing");
    return;
  }
  const console = entry.get("console");
  const baudRate = reader.integer(
    key,
    "baudrate",
    entry.get("baudrate") || undefined,
    1,
    4_000_000,
  );
  const root = entry.get("root");
  context.draft.kernel = {
    path,
    ...(console
      ? { console: { device: console, ...(baudRate !== undefined ? { baudRate } : {}) } }
      : {}),
    ...(root ? { root } : {}),
  };
};

export const qemu: KeyHandler = ({ reader, key, draft }) => {
  for (const [index, entry] of key.entries.entries()) {
    if (!reader.only(key, entry, index, ["path"])) continue;
    const path = entry.get("path");
    if (path) draft.emulators.push(path);
    else reader.issue(key, "path= is missing");
  }
};
