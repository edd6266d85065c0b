/**
 * CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, a field quoted
 * (its quotes doubled) when it holds a comma, a quote, a CR or a LF. Null and undefined are
 * empty fields; numbers are written as JavaScript prints them.
 *
 * @module
 */

/** A value a CSV field can hold. */
export type CsvValue = string | number | boolean | null | undefined;

/** One field, quoted if it must be. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF included. */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/**
 * A UTF-8 byte stream of `header` then every record of `records`, pulled `perChunk` records at a
 * time as the reader asks, so a large export is never held in memory at once.
 */
export function csvStream(
  header: readonly string[],
  records: Iterator<readonly CsvValue[]>,
  perChunk = 200,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = headerSent ? "" : csvRecord(header);
      headerSent = true;
      for (let i = 0; i < perChunk; i++) {
        const next = records.next();
        if (next.done) {
          if (text !== "") controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        text += csvRecord(next.value);
      }
      controller.enqueue(encoder.encode(text));
    },
    cancel() {
      records.return?.();
    },
  }, { highWaterMark: 1 });
}
