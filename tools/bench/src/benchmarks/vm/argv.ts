/**
 * The facade's QEMU command line, reused by the bare baselines: the same argv,
 * moved to another directory and other forwarded ports so that it can run
 * beside (or after) the facade's VM.
 */

/** A VM's command line and the files it names, as the facade's record has them. */
export interface VmTemplate {
  /** The whole command line, program first. */
  readonly argv: readonly string[];
  /** The directory every runtime file (sockets, pidfile, serial log) is in. */
  readonly runtimeDir: string;
  readonly qmpPath: string;
  readonly serialPath: string;
}

/** The host ports of every `hostfwd=` of the argv, in order. */
export function hostForwardPorts(argv: readonly string[]): number[] {
  const ports: number[] = [];
  for (const arg of argv) for (const match of arg.matchAll(HOSTFWD)) ports.push(Number(match[3]));
  return ports;
}

/** `hostfwd=tcp:127.0.0.1:6001-:22`: protocol, host address, host port. */
const HOSTFWD = /hostfwd=(tcp|udp):([^:,]*):(\d+)-/g;

/** The value of `option` (`-pidfile` → its path), if the argv has it. */
export function optionValue(argv: readonly string[], option: string): string | undefined {
  const index = argv.indexOf(option);
  return index === -1 ? undefined : argv[index + 1];
}

/**
 * The template moved to `runtimeDir` (every path under the old directory now
 * under the new one) with its forwarded host ports replaced by `hostPorts`, in
 * order. Throws if the argv names no file in the old directory, if the counts
 * of ports differ, or if the new directory has a comma (QEMU would need it doubled).
 */
export function relocate(
  template: VmTemplate,
  to: { readonly runtimeDir: string; readonly hostPorts: readonly number[] },
): VmTemplate {
  const from = `${template.runtimeDir}/`;
  const into = `${to.runtimeDir}/`;
  if (to.runtimeDir.includes(","))
    throw new Error(`a runtime directory with a comma cannot be passed to QEMU: ${to.runtimeDir}`);
  if (!template.argv.some((arg) => arg.includes(from)))
    throw new Error(`the argv names no file in ${template.runtimeDir}`);
  const count = hostForwardPorts(template.argv).length;
  if (count !== to.hostPorts.length)
    throw new Error(`the argv forwards ${count} host ports, ${to.hostPorts.length} were given`);
  let next = 0;
  const move = (text: string) => text.split(from).join(into);
  const argv = template.argv.map((arg) =>
    move(arg).replace(
      HOSTFWD,
      (_match, protocol: string, address: string) =>
        `hostfwd=${protocol}:${address}:${to.hostPorts[next++]}-`,
    ),
  );
  return {
    argv,
    runtimeDir: to.runtimeDir,
    qmpPath: move(template.qmpPath),
    serialPath: move(template.serialPath),
  };
}
