/**
 * Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (or, for tab and CR,
 * let one slip past a naive check). OWASP "CSV Injection": prefix such cells with a single quote.
 */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Writes a CSV that is safe to hand back to HR: RFC 4180 quoting, CRLF after every row, and text that
 * would start a formula neutralised. Values in reports come from the roster, i.e. from whoever typed into
 * HR's spreadsheet, so a name like `=HYPERLINK(…)` must come back as text. Numbers are ours and are written
 * as they are: -3 is a number, not a formula. No BOM: the caller adds one if Excel is the reader.
 */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  let out = writeRow(header, header.length);
  for (const [index, row] of rows.entries()) {
    if (row.length !== header.length) {
      throw new RangeError(`CSV row ${index + 1} has ${row.length} cells but the header has ${header.length}`);
    }
    out += writeRow(row, header.length);
  }
  return out;
}

function writeRow(cells: readonly (string | number | null)[], width: number): string {
  // A one-column row holding '' would be a blank line, which readers (ours included) skip.
  if (width === 1 && (cells[0] === '' || cells[0] === null)) return '""\r\n';
  return `${cells.map(writeCell).join(',')}\r\n`;
}

function writeCell(cell: string | number | null): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return String(cell);
  const text = FORMULA_START.has(cell.charAt(0)) ? `'${cell}` : cell;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
