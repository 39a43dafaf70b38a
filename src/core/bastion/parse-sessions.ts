/** One live SSH connection of a person on a bastion. */
export interface BastionSession {
  user: string;
  /** The unprivileged sshd process serving the connection (killing it ends the connection). */
  pid: number;
  /**
   * The connection's terminal(s): 'pts/0', or 'pts/0,pts/1' when several sessions share one connection
   * (ControlMaster); null for 'notty' (a command without a terminal) and for a connection with no session
   * channel at all — `ssh -W`/ProxyJump and port forwarding, the bastion's main use.
   */
  tty: string | null;
}

/** The argv[0] sshd gives a connection's process: 'sshd' up to OpenSSH 9.7, 'sshd-session' from 9.8. */
// Any POSIX portable user name, not only rac's: `rac sessions` shows who is on the bastion, whoever made the account.
const SESSION_TITLE = /^sshd(?:-session)?: ([A-Za-z0-9_][A-Za-z0-9._-]{0,31}\$?)(?:@([A-Za-z0-9/,]+))?$/;
const PS_LINE = /^\s*(\d+)\s+(\S+)\s+(.*)$/;

/**
 * Live sshd connections per user, from `ps -eo pid=,user=,args=` (prefer `user:32=`: with plain `user=`
 * procps prints names longer than 8 characters truncated with '+', as 'averylo+').
 *
 * Each authenticated connection is served by two processes: the monitor `sshd: alice [priv]` (root) and
 * the child that runs as the person, titled `sshd: alice@pts/0`, `sshd: alice@notty`, or just `sshd: alice`
 * when the connection has no session channel (ProxyJump). The child is counted, once. It is recognised by
 * its title AND by running as the user it names, so neither the root monitor nor a process of someone
 * else that sets its title to look like sshd is counted. Root's own logins have no separate child
 * (`sshd: root@pts/2` runs as root) and are counted the same way. Ignored: the listener
 * (`sshd: /usr/sbin/sshd -D [listener] …`), `[accepted]`, `[net]` (pre-authentication, as the sshd user),
 * `[priv]`, `[preauth]`, and everything that is not sshd.
 */
export function parseBastionSessions(psOutput: string): BastionSession[] {
  const sessions: BastionSession[] = [];
  for (const line of psOutput.split('\n')) {
    const ps = PS_LINE.exec(line.replace(/\r$/, ''));
    if (ps === null) continue;
    const title = SESSION_TITLE.exec((ps[3] as string).trimEnd());
    if (title === null) continue;
    const user = title[1] as string;
    if (!runsAs(ps[2] as string, user)) continue;
    const tty = title[2];
    sessions.push({ user, pid: Number(ps[1]), tty: tty === undefined || tty === 'notty' ? null : tty });
  }
  return sessions;
}

/**
 * The ps user column against the title's user. procps shortens a name that does not fit its column to
 * the first 7 characters and '+'; a truncated name can only be matched on what is left of it.
 */
function runsAs(psUser: string, user: string): boolean {
  if (psUser === user) return true;
  return (
    psUser.length >= 2 && psUser.endsWith('+') && user.length >= psUser.length && user.startsWith(psUser.slice(0, -1))
  );
}
