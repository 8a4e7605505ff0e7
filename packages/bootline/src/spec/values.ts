/** Value types the spec's fields share. */

/** A TCP (or UDP) port number 1–65535, or `"auto"` for one the caller assigns later. */
export type PortSpec = number | "auto";

/** An extra `key=value` QEMU property; booleans become `on`/`off`. */
export type PropertyValue = string | number | boolean;
export type Properties = Readonly<Record<string, PropertyValue>>;

/** A runtime file: present means on; `path` defaults to a fixed name in `runtimeDir`. */
export interface RuntimeFileSpec {
  /** Absolute path. Unix socket paths must fit in 107 bytes. */
  readonly path?: string;
}
