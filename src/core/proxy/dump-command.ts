/** nginx -T with the test command's flags: the whole configuration as nginx reads it (rac doctor); null without -t. */
export function dumpCommandOf(testCommand: readonly string[]): readonly string[] | null {
  if (!testCommand.includes('-t')) return null;
  return testCommand.filter((a) => a !== '-q').map((a) => (a === '-t' ? '-T' : a));
}
