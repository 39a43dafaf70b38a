import { describe, expect, it } from 'vitest';
import { parseBastionSessions } from '../../../src/core/bastion/parse-sessions.ts';

// Recorded with `ps -eo pid=,user=,args=` on Debian 12 (procps-ng 4.0.2) next to a private OpenSSH 9.2p1
// sshd (UsePAM no) on 127.0.0.1, with: alice logged in twice (`ssh -tt … sleep 5` and `ssh … sleep 5`),
// averylongusername32 once with `-tt` and once with `-N` (no session channel). Host processes other than
// these are cut down to a few lines.
const PS_FIRST = `    2 root     [kthreadd]
   10 root     [kworker/0:0H-kblockd]
17822 root     sshd: /usr/sbin/sshd -D -e -f /tmp/rac-rec/ssh/sshd_config [listener] 0 of 10-100 startups
17824 root     ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i /tmp/rac-rec/ssh/clientkey -p 22722 -tt alice@127.0.0.1 sleep 5
17825 root     ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i /tmp/rac-rec/ssh/clientkey -p 22722 alice@127.0.0.1 sleep 5
17826 root     ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i /tmp/rac-rec/ssh/clientkey -p 22722 -N averylongusername32@127.0.0.1
17827 root     ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i /tmp/rac-rec/ssh/clientkey -p 22722 -tt averylongusername32@127.0.0.1 sleep 5
17832 root     sshd: alice [priv]
17833 root     sshd: averylongusername32 [priv]
17834 root     sshd: averylongusername32 [priv]
17835 root     sshd: alice [priv]
17840 alice    sshd: alice@notty
17841 averylo+ sshd: averylongusername32
17842 alice    sshd: alice@pts/0
17843 averylo+ sshd: averylongusername32@pts/1
17844 alice    sh -c sleep 5
17845 alice    sleep 5
17846 alice    sh -c sleep 5
17847 alice    sleep 5
17848 averylo+ sh -c sleep 5
17849 averylo+ sleep 5
`;

// Second recording, same server: alice twice over ONE multiplexed connection (ControlMaster), root logged
// in, averylongusername32 through \`ssh -W\` (what ProxyJump does), a password login stuck at its prompt
// (pre-authentication), and a bare TCP connection that only sent its banner.
const PS_SECOND = `    2 root     [kthreadd]
31719 root     sshd: /usr/sbin/sshd -D -e -f /tmp/rac-rec/ssh/sshd_config [listener] 3 of 10-100 startups
31896 root     sshd: alice [priv]
31968 alice    sshd: alice@pts/0,pts/1
31971 alice    sh -c sleep 5
31972 alice    sleep 5
31984 root     sshd: alice [priv]
31985 root     sshd: averylongusername32 [priv]
31986 root     sshd: root@pts/2
31993 alice    sh -c sleep 4
31994 sshd     sshd: alice [net]
31995 alice    sleep 4
31998 root     sshd: [accepted]
31999 sshd     sshd: [net]
32001 root     sleep 6
32002 root     sleep 5
32003 averylo+ sshd: averylongusername32
32004 root     sshd: [accepted]
`;

// The same moment as PS_SECOND with \`user:32=\` (what the bastion driver runs): names are not truncated.
const PS_SECOND_WIDE = `31719 root                             sshd: /usr/sbin/sshd -D -e -f /tmp/rac-rec/ssh/sshd_config [listener] 3 of 10-100 startups
31896 root                             sshd: alice [priv]
31968 alice                            sshd: alice@pts/0,pts/1
31984 root                             sshd: alice [priv]
31985 root                             sshd: averylongusername32 [priv]
31986 root                             sshd: root@pts/2
31994 sshd                             sshd: alice [net]
31998 root                             sshd: [accepted]
31999 sshd                             sshd: [net]
32003 averylongusername32              sshd: averylongusername32
32004 root                             sshd: [accepted]
`;

describe('parseBastionSessions', () => {
  it('counts each authenticated connection once, by the process running as the user', () => {
    expect(parseBastionSessions(PS_FIRST)).toEqual([
      { user: 'alice', pid: 17840, tty: null },
      { user: 'averylongusername32', pid: 17841, tty: null },
      { user: 'alice', pid: 17842, tty: 'pts/0' },
      { user: 'averylongusername32', pid: 17843, tty: 'pts/1' },
    ]);
  });

  it('counts a multiplexed connection once, a ProxyJump connection, and root; not pre-authentication', () => {
    const expected = [
      { user: 'alice', pid: 31968, tty: 'pts/0,pts/1' },
      { user: 'root', pid: 31986, tty: 'pts/2' },
      { user: 'averylongusername32', pid: 32003, tty: null },
    ];
    expect(parseBastionSessions(PS_SECOND)).toEqual(expected);
    expect(parseBastionSessions(PS_SECOND_WIDE)).toEqual(expected);
  });

  it('does not count a process that only pretends to be a session of someone else', () => {
    const ps = `  501 mallory  sshd: alice@pts/9
  502 mallory  sshd: alice
  503 root     sshd: alice
  504 averylo+ sshd: averyotherlongname@pts/3
  505 alice    -sshd: alice@pts/1
  506 alice    /usr/sbin/sshd: alice@pts/1
`;
    expect(parseBastionSessions(ps)).toEqual([]);
  });

  it('accepts the sshd-session title of OpenSSH 9.8 and later, and CRLF', () => {
    expect(
      parseBastionSessions('  77 bob      sshd-session: bob@notty\r\n  78 root     sshd-session: bob [priv]\r\n'),
    ).toEqual([{ user: 'bob', pid: 77, tty: null }]);
  });

  it('ignores listeners started without a title, empty output and junk', () => {
    const ps = ` 9001 root     /usr/sbin/sshd -D -e -f /etc/rac/sshd_config
 9002 root     sshd -D -e -f /etc/ssh/sshd_config
 9003 root     sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups
 9004 sshd     sshd: bob [preauth]

garbage line
`;
    expect(parseBastionSessions(ps)).toEqual([]);
    expect(parseBastionSessions('')).toEqual([]);
  });
});
