/** The images a command line opens, read back from `-drive`, its legacy forms and `-blockdev`. */
import type { DriveFacts } from "../facts/vm-facts.js";
import { lastOption, type OptionPart, parseOnOff } from "../syntax/option-list.js";
import type { Scanned, ScannedDrive } from "./scan.js";

type MutableDrive = { -readonly [K in keyof DriveFacts]: DriveFacts[K] };

/** A `-drive` (or `-hda`, `-cdrom`…): undefined when it has no file (an empty drive). */
function driveOf(parts: readonly OptionPart[], snapshot: boolean): DriveFacts | undefined {
  const path = lastOption(parts, "file") ?? lastOption(parts, "file.filename");
  if (path === undefined) return undefined;
  const media = lastOption(parts, "media");
  const drive: MutableDrive = {
    path,
    // QEMU opens a CD-ROM read-only whatever readonly= says.
    readOnly: (parseOnOff(lastOption(parts, "readonly")) ?? false) || media === "cdrom",
    snapshot: parseOnOff(lastOption(parts, "snapshot")) ?? snapshot,
  };
  const id = lastOption(parts, "id");
  if (id !== undefined) drive.id = id;
  const format = lastOption(parts, "format");
  if (format !== undefined) drive.format = format;
  const driveInterface = lastOption(parts, "if");
  if (driveInterface !== undefined) drive.interface = driveInterface;
  if (media !== undefined) drive.media = media;
  return drive;
}

/** A `-blockdev` node that names a file (`filename=`): a protocol node such as `driver=file`. */
function blockdevOf(parts: readonly OptionPart[]): DriveFacts | undefined {
  const path = lastOption(parts, "filename") ?? lastOption(parts, "file.filename");
  if (path === undefined) return undefined;
  const drive: MutableDrive = {
    path,
    readOnly: parseOnOff(lastOption(parts, "read-only")) ?? false,
    snapshot: false,
  };
  const id = lastOption(parts, "node-name");
  if (id !== undefined) drive.id = id;
  return drive;
}

/** Every image the command line opens, in its order. */
export function drivesOf(scanned: Scanned): DriveFacts[] {
  const drives: DriveFacts[] = [];
  for (const { blockdev, parts } of scanned.drives as readonly ScannedDrive[]) {
    const drive = blockdev ? blockdevOf(parts) : driveOf(parts, scanned.snapshot);
    if (drive) drives.push(drive);
  }
  return drives;
}
