import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';

export const EXAMPLE_CONFIG = `# remote-access-capacity (rac) configuration. Relative paths are relative to this file.
# Every key can be overridden by an environment variable: directory.url → RAC_DIRECTORY_URL.
capacity:
  target_sessions: 5000
  # expected share of each tier's people online at peak
  peak_concurrency: { public: 0.6, vpn: 0.9, vpn-bastion: 0.9 }
  enforce: refuse            # refuse | warn
directory:
  url: ldaps://ldap.corp.example:636  # or ldap://… with starttls: true; cleartext only to loopback
  ca_file: ./ldap-ca.pem     # the CA that signed the directory's certificate
  bind_dn: cn=rac,ou=services,dc=corp,dc=example
  bind_password_file: ./ldap.secret   # or RAC_DIRECTORY_BIND_PASSWORD
  users_base: ou=people,dc=corp,dc=example
  groups:
    public: cn=remote-public,ou=groups,dc=corp,dc=example
    vpn: cn=remote-vpn,ou=groups,dc=corp,dc=example
    vpn-bastion: cn=remote-bastion,ou=groups,dc=corp,dc=example
  # starttls: false
  # uid_attribute: uid       # sAMAccountName for Active Directory
  # attributes: { department: [departmentNumber, ou], title: title }   # what policy rules match
  # modify_chunk: 5000       # member values per LDAP modify
gateways: []                 # VPN gateways and bastions (rated_sessions feed the capacity gate)
bastion: { login: jump-only } # jump-only: ssh -J through the bastion, no shell there | shell
policy: ./policy.yaml
store: ./rac.db
expiry: { interval_minutes: 60 }   # timezone: Asia/Shanghai (default: the machine's)
`;

export const EXAMPLE_POLICY = `# Tier policy. The first rule whose match fits a person decides:
#   tier — what the person gets when the roster's tier column is empty;
#   max  — the highest tier the roster may ask for (defaults to tier).
# match takes department and/or title: exact text, a list of texts, or /regex/.
default:
  tier: public
  max: vpn
rules:
  - name: tech-centre-ops
    match: { department: 技术中心, title: [运维工程师, 技术经理] }
    tier: vpn-bastion
  - name: tech-centre
    match: { department: 技术中心 }
    tier: vpn
    max: vpn-bastion
  - name: customer-service      # customer service can never get the bastion
    match: { department: 客服中心 }
    tier: public
    max: vpn
  - name: risk-and-finance
    match: { department: [风控部, 财务部] }
    tier: vpn
`;

export const EXAMPLE_ROSTER = `uid,name,email,department,title,tier,ssh_key,expires
zhangwei,张伟,zhangwei@corp.example,客服中心,客服专员,,,
lina,李娜,lina@corp.example,技术中心,软件工程师,,,
wangfang,王芳,wangfang@corp.example,财务部,会计,,,2027-06-30
`;

/** `rac init [dir]`: example config, policy and roster to start from; never overwrites. */
export async function initCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1) throw new AppError('RAC_USAGE', 'usage: rac init [dir] [--force]');
  const dir = resolve(ctx.cwd, positionals[0] ?? '.');
  const files = { 'rac.yaml': EXAMPLE_CONFIG, 'policy.yaml': EXAMPLE_POLICY, 'roster.example.csv': EXAMPLE_ROSTER };
  const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0 && !values.force) {
    throw new AppError(
      'RAC_USAGE_EXISTS',
      `${existing.join(', ')} already in ${dir}; nothing written (--force overwrites)`,
    );
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  if (ctx.output.json) ctx.output.document({ dir, files: Object.keys(files) });
  else {
    ctx.output.text(`Wrote ${Object.keys(files).join(', ')} to ${dir}`);
    ctx.output.text(
      'Next: put the service account password in ldap.secret (chmod 600), then rac plan roster.example.csv',
    );
  }
  return ExitCode.ok;
}
