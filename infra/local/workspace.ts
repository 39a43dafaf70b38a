import type { CompanyPerson } from './company.ts';
import type { LocalDirectory } from './directory.ts';

/** A rac.yaml for a local directory: the service account, its password file, the tier groups. */
export function configFor(directory: LocalDirectory): string {
  return `capacity:
  target_sessions: 5000
  peak_concurrency: { public: 0.6, vpn: 0.9, vpn-bastion: 0.9 }
  enforce: refuse
directory:
  url: ${directory.url}
  bind_dn: ${directory.serviceDn}
  bind_password_file: ${directory.servicePasswordFile}
  users_base: ${directory.usersBase}
  groups:
    public: ${directory.groups.public}
    vpn: ${directory.groups.vpn}
    vpn-bastion: ${directory.groups['vpn-bastion']}
  timeout_ms: 10000
policy: ./policy.yaml
store: ./rac.db
`;
}

/** Roster CSV text for people of the synthetic company. */
export function rosterFor(
  people: readonly CompanyPerson[],
  extra: (p: CompanyPerson) => { tier?: string; ssh_key?: string; expires?: string } = () => ({}),
): string {
  const rows = people.map((p) => {
    const e = extra(p);
    return [p.uid, p.cn, p.mail, p.department, p.title, e.tier ?? '', e.ssh_key ?? '', e.expires ?? '']
      .map(csvCell)
      .join(',');
  });
  return `uid,name,email,department,title,tier,ssh_key,expires\n${rows.join('\n')}\n`;
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
