/**
 * CSV as RFC 4180 writes it (and {@link parseCsv} reads it back): fields separated by commas, records ended by CRLF, a field quoted
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

/**
 * The records of an RFC 4180 text: fields split at commas, records at CRLF (a bare LF too),
 * quoted fields may hold commas, line breaks and doubled quotes. A final line break ends the
 * last record; it does not start an empty one.
 * @throws {SyntaxError} naming the offset of an unterminated quote or text after a closing quote.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  const endField = () => {
    record.push(field);
    field = "";
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && field === "") {
      const close = quotedEnd(text, i);
      field = text.slice(i + 1, close).replaceAll('""', '"');
      i = close + 1;
      if (i < text.length && !",\r\n".includes(text[i])) {
        throw new SyntaxError(`CSV: text after a closing quote at offset ${i}`);
      }
      continue;
    }
    if (c === ",") endField();
    else if (c === "\n") endRecord();
    else if (c === "\r" && text[i + 1] === "\n") {
      endRecord();
      i++;
    } else field += c;
    i++;
  }
  if (field !== "" || record.length > 0) endRecord();
  return records;
}

/** The offset of the quote closing the quoted field opened at `open`. */
function quotedEnd(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length) {
    if (text[i] === '"') {
      if (text[i + 1] !== '"') return i;
      i += 2;
    } else i++;
  }
  throw new SyntaxError(`CSV: the quote opened at offset ${open} is never closed`);
}
