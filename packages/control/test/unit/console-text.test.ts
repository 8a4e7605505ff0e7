import { stripTerminalEscapes } from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { filterKernelMessages, maskSecrets } from "../../src/index.js";

describe("filterKernelMessages", () => {
  test("cuts out messages wherever they land, even inside a line end", () => {
    const text =
      "gue[    3.072179] hello-kmsg\r\nst login: " +
      "QUJD\r[   12.000001][ T123] with caller\r\n\nREVG\r\n" +
      "[    3.076586] abc\r\n[    3.077147] l1\r\n";
    const filtered = filterKernelMessages(text);
    expect(filtered.clean).toBe("guest login: QUJD\r\nREVG\r\n");
    expect(filtered.final).toBe(text.length);
    expect(filtered.messages).toEqual([
      "[    3.072179] hello-kmsg\r\n",
      "[   12.000001][ T123] with caller\r\n",
      "[    3.076586] abc\r\n",
      "[    3.077147] l1\r\n",
    ]);
  });

  test("leaves other brackets alone and holds back a message still arriving", () => {
    expect(filterKernelMessages("[root@host ~]# ").clean).toBe("[root@host ~]# ");
    expect(filterKernelMessages("a[1.5] b\n").clean).toBe("a[1.5] b\n"); // 6 digits of micros required
    expect(filterKernelMessages("x [ 1.000000]y\n").clean).toBe("x [ 1.000000]y\n");
    for (const partial of [
      "[",
      "[   ",
      "[   3",
      "[   3.07",
      "[   3.072179]",
      "[   3.072179] hel",
    ]) {
      const filtered = filterKernelMessages(`login: ${partial}`);
      expect(filtered.clean).toBe("login: ");
      expect(filtered.final).toBe("login: ".length);
    }
  });

  test("a prefix split anywhere gives the same result once complete", () => {
    const text = "12345\r\n[    7.123456] usb 1-1: new device\r\n67890\r\n";
    for (let cut = 0; cut <= text.length; cut++) {
      const first = filterKernelMessages(text.slice(0, cut));
      const rest = filterKernelMessages(text.slice(first.final));
      expect(first.clean + rest.clean).toBe("12345\r\n67890\r\n");
    }
  });
});

describe("stripTerminalEscapes (core's, which login relies on)", () => {
  test("removes busybox's cursor query and colours", () => {
    expect(stripTerminalEscapes("root@guest:~# \x1b[6n")).toBe("root@guest:~# ");
    expect(stripTerminalEscapes("\x1b[1;32mok\x1b[0m \x1b7x\x1b8")).toBe("ok x");
  });
});

describe("maskSecrets", () => {
  test("masks whole occurrences and fragments at the edges", () => {
    expect(maskSecrets("Password: qemu-kvm\r\n", ["qemu-kvm"])).toBe("Password: ********\r\n");
    expect(maskSecrets("Password: qemu-", ["qemu-kvm"])).toBe("Password: ********");
    expect(maskSecrets("u-kvm\r\nok", ["qemu-kvm"])).toBe("********\r\nok");
    expect(maskSecrets("qemu is fine", ["qemu-kvm"])).toBe("qemu is fine");
  });
});
