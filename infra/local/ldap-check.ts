/**
 * TEST INFRASTRUCTURE, not part of rac: the authentication backend of the local access proxy
 * (nginx `auth_request`). It answers 200 with `X-Rac-User: <uid>` when the request's Basic
 * credentials bind to the local slapd as uid=<uid>,<users base>, else 401 with a Basic
 * challenge. Authentication only: who may pass is the allow map's business (rac), never this.
 *
 * It runs inside the proxy host's network namespace and reaches slapd over its ldapi:// unix
 * socket (a file path, the same in every network namespace) with a hand-written LDAPv3 simple
 * bind: ldapts speaks TCP only. Every request binds; there is no cache.
 *
 *   node infra/local/ldap-check.ts <listen-port> <ldapi-socket-path> <users-base> <pid-file>
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';

const USER_RE = /^[A-Za-z0-9._-]{1,32}$/;
const BIND_TIMEOUT_MS = 5_000;

/** BER length: short form below 128, else 0x81/0x82 + big-endian bytes. */
function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), berLength(value.length), value]);
}

/** LDAPMessage { messageID 1, BindRequest { version 3, name, simple password } }. */
export function bindRequest(dn: string, password: string): Buffer {
  const bind = tlv(
    0x60,
    Buffer.concat([tlv(0x02, Buffer.from([3])), tlv(0x04, Buffer.from(dn)), tlv(0x80, Buffer.from(password))]),
  );
  return tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([1])), bind]));
}

/** The resultCode of a BindResponse (0 = success), or null while the message is incomplete. */
export function bindResult(data: Buffer): number | null {
  let i = 0;
  const header = (): { tag: number; length: number } | null => {
    if (i + 2 > data.length) return null;
    const tag = data[i++] as number;
    let length = data[i++] as number;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (i + n > data.length) return null;
      length = 0;
      for (let k = 0; k < n; k++) length = (length << 8) | (data[i++] as number);
    }
    return { tag, length };
  };
  const message = header();
  if (message === null || message.tag !== 0x30 || i + message.length > data.length) return null;
  const id = header();
  if (id === null) return null;
  i += id.length;
  const response = header();
  if (response === null || response.tag !== 0x61) throw new Error('not a BindResponse');
  const code = header();
  if (code === null || code.tag !== 0x0a) throw new Error('BindResponse without resultCode');
  return data[i] as number;
}

async function bind(socketPath: string, dn: string, password: string): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = Buffer.alloc(0);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(BIND_TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const code = bindResult(received);
        if (code !== null) done(code === 0);
      } catch {
        done(false);
      }
    });
    socket.write(bindRequest(dn, password));
  });
}

function credentials(request: IncomingMessage): { user: string; password: string } | null {
  const header = request.headers.authorization ?? '';
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function startLdapCheck(port: number, socketPath: string, usersBase: string) {
  const refuse = (response: ServerResponse) => {
    response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="portal", charset="UTF-8"' });
    response.end();
  };
  const server = createServer((request, response) => {
    const given = credentials(request);
    // An empty password would be an anonymous bind, which "succeeds".
    if (given === null || !USER_RE.test(given.user) || given.password === '') return refuse(response);
    const uid = given.user.toLowerCase();
    bind(socketPath, `uid=${uid},${usersBase}`, given.password).then(
      (ok) => {
        if (!ok) return refuse(response);
        response.writeHead(200, { 'X-Rac-User': uid });
        response.end();
      },
      () => refuse(response),
    );
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, socketPath, usersBase, pidFile] = process.argv.slice(2);
  if (port === undefined || socketPath === undefined || usersBase === undefined || pidFile === undefined) {
    process.stderr.write('usage: ldap-check.ts <port> <ldapi-socket-path> <users-base> <pid-file>\n');
    process.exit(2);
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  const server = startLdapCheck(Number(port), socketPath, usersBase);
  server.once('listening', () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
