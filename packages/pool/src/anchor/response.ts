/** The framing of what the anchor prints: sections, and a final status line. */

/** One response: its sections in order (tag, header arguments, body) and the final status. */
export interface Response {
  sections: { tag: string; args: string; body: string }[];
  /** `ok`, `ready`, `committed`, `unchanged`, or `error`. */
  status: string;
  /** After the status: for errors, `REASON MESSAGE…`. */
  detail: string;
}

/** Splits one response's text (without its end header) into sections. */
export function parseResponse(text: string, nonce: string, endLine: string): Response {
  const marker = `\x1e${nonce} `;
  const sections: Response["sections"] = [];
  let position = text.indexOf(marker);
  while (position >= 0) {
    const headerEnd = text.indexOf("\n", position);
    const header = text.slice(position + marker.length, headerEnd < 0 ? undefined : headerEnd);
    const next = headerEnd < 0 ? -1 : text.indexOf(marker, headerEnd + 1);
    const body = headerEnd < 0 ? "" : text.slice(headerEnd + 1, next < 0 ? undefined : next);
    const space = header.indexOf(" ");
    sections.push({
      tag: space < 0 ? header : header.slice(0, space),
      args: space < 0 ? "" : header.slice(space + 1),
      body,
    });
    position = next;
  }
  const [status = "", ...rest] = endLine.split(" ");
  return { sections, status, detail: rest.join(" ") };
}
