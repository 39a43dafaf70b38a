import { AppError } from '../errors.ts';
import { parseCsv } from '../roster/parse-csv.ts';
import { UID_PATTERN } from '../uid.ts';

/** A test account the swarm logs in as. */
export interface SwarmAccount {
  readonly uid: string;
  readonly password: string;
}

/**
 * The swarm's accounts file: CSV rows `uid,password`, an optional header row `uid,password`.
 * Every bad row is reported at once (line and reason, never the password); a uid used twice is an
 * error because OpenVPN's username-as-common-name would let the second login end the first.
 */
export function parseSwarmAccounts(text: string, source = 'accounts'): SwarmAccount[] {
  const parsed = parseCsv(text.replace(/^\uFEFF/, ''));
  const problems = parsed.problems.map((p) => `${source}:${p.line}: ${p.reason}`);
  const accounts: SwarmAccount[] = [];
  const seen = new Map<string, number>();
  parsed.records.forEach((record, index) => {
    const [uid = '', password = '', ...rest] = record.fields;
    if (index === 0 && uid.trim().toLowerCase() === 'uid' && password.trim().toLowerCase() === 'password') return;
    if (record.fields.length === 1 && uid.trim() === '') return; // blank line
    const where = `${source}:${record.line}`;
    if (rest.some((f) => f !== '')) {
      problems.push(`${where}: expected two columns (uid,password), got ${record.fields.length}`);
      return;
    }
    if (!UID_PATTERN.test(uid)) {
      problems.push(`${where}: uid is not a valid account name (${uid.length} characters)`);
      return;
    }
    if (password === '') {
      problems.push(`${where}: empty password for ${uid}`);
      return;
    }
    if (/[\r\n\0]/.test(password)) {
      problems.push(`${where}: the password of ${uid} contains a line break or NUL`);
      return;
    }
    const first = seen.get(uid);
    if (first !== undefined) {
      problems.push(`${where}: ${uid} is listed twice (first on line ${first})`);
      return;
    }
    seen.set(uid, record.line);
    accounts.push({ uid, password });
  });
  if (problems.length > 0) {
    throw new AppError(
      'RAC_USAGE_SWARM_ACCOUNTS',
      `the accounts file has ${problems.length} problem(s):\n${problems.join('\n')}`,
      {
        details: { problems },
      },
    );
  }
  return accounts;
}
