/**
 * The only place that writes to the terminal. `--json` commands print exactly one JSON document
 * on stdout; everything for people goes to stdout as text, diagnostics to stderr.
 */
export interface Output {
  readonly json: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
  /** Human text on stdout (suppressed with --json). */
  text(line?: string): void;
  /** Diagnostics and progress on stderr. */
  note(line: string): void;
  /** The one JSON document of a --json command. */
  document(value: unknown): void;
  /** A piece of a document written in pieces (large plans). */
  raw(text: string): void;
  /** Rewrites the current stderr line (progress bars, TTY only). */
  status(line: string): void;
  endStatus(): void;
}

export function createOutput(json: boolean): Output {
  let statusOpen = false;
  return {
    json,
    stderrIsTTY: process.stderr.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    text(line = '') {
      if (!json) console.log(line);
    },
    note(line) {
      console.error(line);
    },
    document(value) {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    raw(text) {
      process.stdout.write(text);
    },
    status(line) {
      process.stderr.write(`\r\x1b[2K${line}`);
      statusOpen = true;
    },
    endStatus() {
      if (statusOpen) process.stderr.write('\n');
      statusOpen = false;
    },
  };
}
