export type CsvDelimiter = ',' | ';' | '\t';

export interface CsvRecord {
  /** 1-based physical line on which the record starts; a quoted field may carry it over several lines. */
  line: number;
  fields: string[];
}

export interface CsvProblem {
  /** 1-based physical line on which the broken record starts (what `CsvRecord.line` would have been). */
  line: number;
  /** 1-based position of the field in which the problem was found. */
  field: number;
  reason: string;
}

export interface ParsedCsv {
  /** Well-formed records, header included; a record with a syntax problem is left out, never half-kept. */
  records: CsvRecord[];
  problems: CsvProblem[];
  delimiter: CsvDelimiter;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const TAB = 0x09;

/**
 * RFC 4180, read leniently where Excel differs (LF or lone CR line ends, no final newline, ';' or tab
 * delimiters) and strictly where guessing would change a value: a stray quote makes the record a problem
 * rather than text. One pass over char codes; unquoted fields are sliced, never built char by char.
 */
export function parseCsv(text: string): ParsedCsv {
  const delimiter = detectDelimiter(text);
  const delim = delimiter.charCodeAt(0);
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  const n = text.length;

  let i = 0;
  let line = 1;
  while (i < n) {
    // Blank lines between records carry nothing (Excel leaves them where rows were deleted).
    const c0 = text.charCodeAt(i);
    if (c0 === LF || c0 === CR) {
      i += c0 === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      continue;
    }

    const recordLine = line;
    const fields: string[] = [];
    let problem: string | null = null;
    let problemField = 0;
    let unterminated = false;
    let atRecordEnd = false;

    while (!atRecordEnd) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        const openLine = line;
        const openAt = i;
        let pieceStart = i + 1;
        let buffer = '';
        let closed = false;
        i++;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              buffer += text.slice(pieceStart, i + 1);
              i += 2;
              pieceStart = i;
              continue;
            }
            buffer += text.slice(pieceStart, i);
            i++;
            closed = true;
            break;
          }
          if (c === LF) line++;
          else if (c === CR && text.charCodeAt(i + 1) !== LF) line++;
          i++;
        }
        if (!closed) {
          problems.push({
            line: recordLine,
            field: fields.length + 1,
            reason:
              `quoted field opened on line ${openLine} is never closed; the record was skipped and reading ` +
              `resumed on line ${openLine + 1}`,
          });
          // No lone quote follows an unmatched one, so rereading the following lines as ordinary records
          // recovers them; only the broken record is lost.
          i = skipToNextLine(text, openAt);
          line = openLine + 1;
          unterminated = true;
          break;
        }
        value = buffer;
        const after = text.charCodeAt(i);
        if (i < n && after !== delim && after !== LF && after !== CR) {
          if (problem === null) {
            problem = `unexpected text after the closing quote of field ${fields.length + 1}; a quote inside a quoted field must be doubled ("")`;
            problemField = fields.length + 1;
          }
          i = skipToFieldEnd(text, i, delim);
        }
      } else {
        const start = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === delim || c === LF || c === CR) break;
          if (c === QUOTE && problem === null) {
            problem = `quote character inside unquoted field ${fields.length + 1}; wrap the field in quotes and double the quote ("")`;
            problemField = fields.length + 1;
          }
          i++;
        }
        value = text.slice(start, i);
      }
      fields.push(value);

      if (i >= n) {
        atRecordEnd = true;
      } else {
        const c = text.charCodeAt(i);
        if (c === delim) {
          i++;
          // A delimiter at end of input or line still opens one more (empty) field.
          if (i >= n) {
            fields.push('');
            atRecordEnd = true;
          }
        } else {
          i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
          line++;
          atRecordEnd = true;
        }
      }
    }

    if (unterminated) continue;
    if (problem === null) records.push({ line: recordLine, fields });
    else problems.push({ line: recordLine, field: problemField, reason: problem });
  }

  return { records, problems, delimiter };
}

/**
 * The header decides: whichever of ',', ';' or tab occurs most often outside quotes on the first non-empty
 * line. Excel in locales with a decimal comma saves "CSV" with ';'. Ties and a one-column header mean ','.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  let commas = 0;
  let semicolons = 0;
  let tabs = 0;
  let inQuotes = false;
  let seenContent = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      inQuotes = !inQuotes;
      seenContent = true;
    } else if (inQuotes) {
      // Delimiters inside a quoted header name do not count.
    } else if (c === LF || c === CR) {
      if (seenContent) break;
    } else {
      seenContent = true;
      if (c === COMMA) commas++;
      else if (c === SEMICOLON) semicolons++;
      else if (c === TAB) tabs++;
    }
  }
  if (semicolons > commas && semicolons >= tabs) return ';';
  if (tabs > commas && tabs > semicolons) return '\t';
  return ',';
}

/** In garbage after a closing quote, quotes are just characters: resync on the next delimiter or line end. */
function skipToFieldEnd(text: string, from: number, delim: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === delim || c === LF || c === CR) break;
    i++;
  }
  return i;
}

function skipToNextLine(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === LF) return i + 1;
    if (c === CR) return text.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
    i++;
  }
  return i;
}
