import type { Directory } from '../../src/ports.ts';

/**
 * A gate in front of a real directory's group writes: holds an apply mid-wave until the test
 * opens it. Everything else (and every write once open) goes to the real server.
 */
export function gatedDirectory(real: Directory) {
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => {
    open = r;
  });
  const directory: Directory = {
    url: real.url,
    verifyPassword: (u, p) => real.verifyPassword(u, p),
    findEmails: (u) => real.findEmails(u),
    findPeople: (u) => real.findPeople(u),
    readMemberships: () => real.readMemberships(),
    resolveMembers: (d) => real.resolveMembers(d),
    replaceSshPublicKeys: (d, k) => real.replaceSshPublicKeys(d, k),
    close: () => real.close(),
    async modifyMembers(tier, op, dns) {
      await gate;
      return real.modifyMembers(tier, op, dns);
    },
  };
  return {
    directory,
    open: () => open(),
    close: () => {
      gate = new Promise<void>((r) => {
        open = r;
      });
    },
  };
}
