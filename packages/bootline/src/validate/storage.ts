/** What the guest boots from: `drives`, `pflash`, `kernel`. */
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { anyPath, type Context, MODEL_NAME } from "./context.js";
import { Reader } from "./reader.js";

const CONSOLE_DEVICE = /^[A-Za-z][A-Za-z0-9]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

export function readDrives(context: Context, reader: Reader): ResolvedSpec["drives"] {
  const drives: ResolvedSpec["drives"][number][] = [];
  const positions = new Map<string, string>();
  for (const [index, { value, path }] of reader.list("drives").entries()) {
    const drive = Reader.open(context.issues, value, path, [
      "path",
      "format",
      "interface",
      "index",
      "media",
      "readOnly",
      "snapshot",
      "cache",
    ]);
    if (!drive) continue;
    const file = anyPath(drive, "path");
    const format = drive.string("format", {
      test: (v) => MODEL_NAME.test(v),
      expected: "an image format such as raw or qcow2",
    });
    const driveInterface = drive.choice("interface", [
      "virtio",
      "ide",
      "scsi",
      "sd",
      "floppy",
      "mtd",
      "none",
    ] as const);
    const position = drive.integer("index", 0, 255);
    const media = drive.choice("media", ["disk", "cdrom"] as const);
    const cache = drive.choice("cache", [
      "none",
      "writeback",
      "writethrough",
      "directsync",
      "unsafe",
    ] as const);
    if (position !== undefined) {
      const key = `${driveInterface ?? "default"}:${position}`;
      const other = positions.get(key);
      if (other)
        context.issues.add(
          drive.at("index"),
          `${driveInterface ?? "the default interface"} index ${position} is already used by ${other}`,
          "a free index on that interface",
        );
      else positions.set(key, path);
    }
    if (file === undefined) continue;
    drives.push({
      id: ids.drive(index),
      path: file,
      ...(format !== undefined ? { format } : {}),
      ...(driveInterface !== undefined ? { interface: driveInterface } : {}),
      ...(position !== undefined ? { index: position } : {}),
      ...(media !== undefined ? { media } : {}),
      readOnly: drive.boolean("readOnly") ?? false,
      snapshot: drive.boolean("snapshot") ?? false,
      ...(cache !== undefined ? { cache } : {}),
    });
  }
  return drives;
}

export function readPflash(context: Context, reader: Reader): ResolvedSpec["pflash"] {
  const result: ResolvedSpec["pflash"][number][] = [];
  for (const [index, { value, path }] of reader.list("pflash").entries()) {
    const flash = Reader.open(context.issues, value, path, ["path", "format", "readOnly"]);
    if (!flash) continue;
    const file = anyPath(flash, "path");
    const format =
      flash.string("format", {
        test: (v) => MODEL_NAME.test(v),
        expected: "an image format such as raw",
      }) ?? "raw";
    const readOnly = flash.boolean("readOnly") ?? false;
    if (file !== undefined)
      result.push({ id: ids.pflash(index), unit: index, path: file, format, readOnly });
  }
  return result;
}

/**
 * Whether a kernel command line already names `device` as a console
 * (`console=ttyS0` or `console=ttyS0,115200n8`).
 */
function hasConsole(commandLine: string, device: string): boolean {
  for (const word of commandLine.split(/\s+/))
    if (word.startsWith("console=") && word.slice(8).split(",", 1)[0] === device) return true;
  return false;
}

/** `kernel.console`: `console=DEVICE[,BAUD]`, or undefined. */
function readConsole(
  context: Context,
  reader: Reader,
): { device: string; word: string } | undefined {
  if (!reader.has("console")) return undefined;
  const consoleReader = Reader.open(context.issues, reader.raw("console"), reader.at("console"), [
    "device",
    "baudRate",
  ]);
  if (!consoleReader) return undefined;
  const device = consoleReader.string("device", {
    required: true,
    test: (v) => CONSOLE_DEVICE.test(v),
    expected: "a console device such as ttyS0, ttyAMA0 or hvc0",
  });
  const baudRate = consoleReader.integer("baudRate", 1, 4_000_000, {
    expected: "a baud rate such as 115200",
  });
  if (device === undefined) return undefined;
  return { device, word: `console=${device}${baudRate ? `,${baudRate}` : ""}` };
}

export function readKernel(context: Context, value: unknown): ResolvedSpec["kernel"] {
  const reader = Reader.open(context.issues, value, "kernel", [
    "path",
    "initrdPath",
    "console",
    "root",
    "append",
  ]);
  if (!reader) return undefined;
  const path = anyPath(reader, "path");
  const initrdPath = anyPath(reader, "initrdPath", false);
  const console = readConsole(context, reader);
  const root = reader.string("root", {
    test: (v) => !/[\s\u0000-\u001f\u007f]/.test(v),
    expected: "a root device without spaces, such as /dev/vda1",
  });
  const append = reader.string("append", {
    test: (v) => !CONTROL.test(v),
    expected: "a kernel command line without control characters (newlines, tabs…)",
  });
  if (path === undefined) return undefined;
  const words: string[] = [];
  // The guest's own console= for the same device stays: one console= per device.
  if (console && (append === undefined || !hasConsole(append, console.device)))
    words.push(console.word);
  if (root !== undefined) words.push(`root=${root}`);
  if (append !== undefined) words.push(append);
  const kernel: { path: string; initrdPath?: string; commandLine?: string } = { path };
  if (initrdPath !== undefined) kernel.initrdPath = initrdPath;
  if (words.length) kernel.commandLine = words.join(" ");
  return kernel;
}
