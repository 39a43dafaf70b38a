import { ROSTER_COLUMNS, type RosterColumn } from './validate-roster.ts';

/**
 * A roster given as JSON rows, written as the CSV the roster parser reads, so JSON and CSV
 * uploads go through one parser and get the same row errors (line N = the Nth person + 1).
 */
export function rosterCsvFromRows(rows: ReadonlyArray<Partial<Record<RosterColumn, string>>>): Uint8Array {
  const cell = (value: string | undefined) => {
    const text = value ?? '';
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [ROSTER_COLUMNS.join(',')];
  for (const row of rows) lines.push(ROSTER_COLUMNS.map((c) => cell(row[c])).join(','));
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}
