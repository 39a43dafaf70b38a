import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSshShell,
  fingerprintOfKey,
  type SshShellOptions,
  scanHostKey,
} from '../../src/adapters/ssh/ssh-shell.ts';
import { AppError } from '../../src/core/errors.ts';
import { Secret } from '../../src/core/secret.ts';
import type { RemoteShell } from '../../src/ports.ts';
import { type LocalSshd, startSshd } from '../support/sshd.ts';

const run = promisify(execFile);

const HOSTILE = [
  "'; rm -rf / #",
  '$(id)',
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${} is the point
  '${HOME}',
  '"',
  '\\',
  "it's",
  'line1\nline2\n',
  'unicode: ünïcödé ✓ 日本語 🚀',
  '-rf',
  '--',
  '*',
  '/etc/*',
  '~',
  'A=b',
  '!',
  '; | & && || > < 2>&1',
  '',
  ' ',
];

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

const accepted = (sshd: LocalSshd) => (sshd.log().match(/Accepted publickey/g) ?? []).length;

describe('SSH shell against a real sshd', () => {
  let sshd: LocalSshd;
  const shells: RemoteShell[] = [];
  const servers: Server[] = [];
  /** Every error message seen, to check no key material leaks into any of them. */
  const messages: string[] = [];

  function shell(overrides: Partial<SshShellOptions> = {}): RemoteShell {
    const s = createSshShell({
      name: 'gw-test',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: new Secret(sshd.clientPrivateKey),
      hostKey: sshd.hostKeyLine,
      ...overrides,
    });
    shells.push(s);
    return s;
  }

  async function failure(promise: Promise<unknown>): Promise<AppError> {
    const err = await rejection(promise);
    messages.push(err.message, JSON.stringify(err.details ?? {}));
    return err;
  }

  async function otherKey(): Promise<{ line: string; privateKey: string }> {
    const file = join(sshd.dir, `other-${randomBytes(4).toString('hex')}`);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    const [type, blob] = readFileSync(`${file}.pub`, 'utf8').split(/\s+/);
    return { line: `${type} ${blob}`, privateKey: readFileSync(file, 'utf8') };
  }

  beforeAll(async () => {
    sshd = await startSshd();
  });

  afterAll(async () => {
    await Promise.all(shells.map((s) => s.close()));
    for (const server of servers) server.close();
    await sshd?.stop();
  });

  it('exec returns stdout (bytes), stderr and the exit code; a signal gives 128 + n', async () => {
    const sh = shell();
    const result = await sh.exec(['sh', '-c', 'printf "out\\377"; echo err >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toEqual(Buffer.from([0x6f, 0x75, 0x74, 0xff]));
    expect(result.stderr).toBe('err\n');
    expect((await sh.exec(['true'])).code).toBe(0);
    expect((await sh.exec(['false'])).code).toBe(1);
    expect((await sh.exec(['sh', '-c', 'kill -TERM $$'])).code).toBe(128 + 15);
    expect((await sh.exec(['sh', '-c', 'kill -KILL $$'])).code).toBe(128 + 9);
    expect((await sh.exec(['no-such-command-rac'])).code).toBe(127);
  });

  it('stdin of 5 MB round-trips (sha256sum), and a string stdin arrives as UTF-8', async () => {
    const sh = shell();
    const data = randomBytes(5 * 1024 * 1024);
    await sh.exec(['true']); // connect first, so the figure is the transfer
    const start = performance.now();
    const result = await sh.exec(['sha256sum'], { stdin: data });
    const ms = performance.now() - start;
    console.log(`5 MB stdin → sha256sum: ${ms.toFixed(0)} ms`);
    expect(result.code).toBe(0);
    expect(result.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    const text = await sh.exec(['cat'], { stdin: 'ünïcödé ✓\n' });
    expect(text.stdout.toString('utf8')).toBe('ünïcödé ✓\n');
    // A command that never reads its stdin still gives its result.
    const ignored = await sh.exec(['sh', '-c', 'exit 4'], { stdin: data });
    expect(ignored.code).toBe(4);
  });

  it('collects 10 MB of stdout, and caps stderr at 64 KiB', async () => {
    const sh = shell();
    const big = await sh.exec(['sh', '-c', 'yes 0123456789abcdef | head -c 10485760']);
    expect(big.stdout.length).toBe(10 * 1024 * 1024);
    expect(big.stdout.subarray(0, 17).toString()).toBe('0123456789abcdef\n');
    const noisy = await sh.exec(['sh', '-c', 'yes e | head -c 200000 >&2; exit 2']);
    expect(noisy.code).toBe(2);
    expect(noisy.stderr.startsWith('e\ne\n')).toBe(true);
    expect(noisy.stderr).toContain('more bytes of stderr dropped');
    expect(Buffer.byteLength(noisy.stderr)).toBeLessThan(64 * 1024 + 100);
  });

  it("hostile argv round-trips exactly through the remote shell (printf '%s\\0')", async () => {
    const sh = shell();
    const result = await sh.exec(['printf', '%s\\0', ...HOSTILE]);
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual(Buffer.from(HOSTILE.map((s) => `${s}\0`).join(''), 'utf8'));
    // And as the command itself: a hostile word is a (missing) command name, never shell syntax.
    const marker = join(sshd.dir, 'injected');
    const injected = await sh.exec([`x; touch ${marker}`]);
    expect(injected.code).toBe(127);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses NUL bytes and empty argv before anything is sent', async () => {
    const sh = shell();
    expect((await failure(sh.exec(['echo', 'a\0b']))).code).toBe('RAC_SSH_BAD_ARGV');
    expect((await failure(sh.exec([]))).code).toBe('RAC_SSH_BAD_ARGV');
  });

  it('a wrong pinned key (other key, wrong fingerprint) is refused and NOTHING runs', async () => {
    const before = accepted(sshd);
    const marker = join(sshd.dir, 'must-not-exist');
    const other = await otherKey();
    const wrongFingerprint = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    for (const hostKey of [other.line, `${other.line} comment`, wrongFingerprint]) {
      const err = await failure(shell({ hostKey }).exec(['touch', marker]));
      expect(err.code).toBe('RAC_SSH_HOST_KEY_MISMATCH');
      expect(err.message).toContain('gw-test');
      expect(err.message).toContain(`127.0.0.1:${sshd.port}`);
      expect(err.message).toContain(sshd.hostKeyFingerprint); // what the host offered
    }
    expect(existsSync(marker)).toBe(false);
    expect(accepted(sshd)).toBe(before); // never even authenticated
  });

  it('pins by SHA256 fingerprint, and by a known_hosts / ssh-keyscan line', async () => {
    expect((await shell({ hostKey: sshd.hostKeyFingerprint }).exec(['echo', 'ok'])).stdout.toString()).toBe('ok\n');
    const scanLine = `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}`;
    expect((await shell({ hostKey: scanLine }).exec(['true'])).code).toBe(0);
  });

  it('an empty or invalid pin throws RAC_SSH_HOST_KEY_PIN_INVALID before connecting', () => {
    const bad = [
      '',
      '   ',
      'SHA256:tooShort',
      'MD5:8f:a3:0c:41:5a:11:22:33:44:55:66:77:88:99:aa:bb',
      '8f:a3:0c:41:5a:11:22:33:44:55:66:77:88:99:aa:bb',
      'ssh-ed25519',
      'ssh-ed25519 not-base64!',
      `ssh-rsa ${sshd.hostKeyLine.split(' ')[1]}`, // blob says ed25519
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', // truncated
      `@cert-authority * ${sshd.hostKeyLine}`,
      'accept-any',
    ];
    for (const hostKey of bad) {
      try {
        createSshShell({
          name: 'gw-bad',
          host: sshd.host,
          port: sshd.port,
          user: sshd.user,
          privateKey: new Secret(sshd.clientPrivateKey),
          hostKey,
        });
        expect.unreachable(`pin ${JSON.stringify(hostKey)} was accepted`);
      } catch (err) {
        expect((err as AppError).code, hostKey).toBe('RAC_SSH_HOST_KEY_PIN_INVALID');
      }
    }
  });

  it('an unusable private key throws RAC_SSH_PRIVATE_KEY_INVALID without echoing it', () => {
    for (const key of ['', 'not a key', sshd.hostKeyLine]) {
      try {
        createSshShell({
          name: 'gw-bad',
          host: sshd.host,
          port: sshd.port,
          user: sshd.user,
          privateKey: new Secret(key),
          hostKey: sshd.hostKeyLine,
        });
        expect.unreachable();
      } catch (err) {
        expect((err as AppError).code).toBe('RAC_SSH_PRIVATE_KEY_INVALID');
        if (key !== '') expect((err as AppError).message).not.toContain(key);
      }
    }
  });

  it('a client key the server does not know → RAC_SSH_AUTH', async () => {
    const other = await otherKey();
    const err = await failure(shell({ privateKey: new Secret(other.privateKey) }).exec(['true']));
    expect(err.code).toBe('RAC_SSH_AUTH');
    expect(err.message).toContain('gw-test');
  });

  it('connection refused and a silent server → RAC_SSH_UNAVAILABLE (connect timeout)', async () => {
    const silent = createServer(() => {}); // accepts, never speaks SSH
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));

    const refused = await failure(shell({ port: closedPort }).exec(['true']));
    expect(refused.code).toBe('RAC_SSH_UNAVAILABLE');
    expect(refused.message).toContain('ECONNREFUSED');
    const start = performance.now();
    const timedOut = await failure(shell({ port: silentPort, connectTimeoutMs: 300 }).exec(['true']));
    expect(timedOut.code).toBe('RAC_SSH_UNAVAILABLE');
    expect(performance.now() - start).toBeLessThan(5_000);
    expect(timedOut.message).toContain(`127.0.0.1:${silentPort}`);
  });

  it('an exec over its timeout → RAC_SSH_TIMEOUT, and the shell stays usable', async () => {
    const sh = shell({ defaultTimeoutMs: 10_000 });
    await sh.exec(['true']);
    const err = await failure(sh.exec(['sleep', '7.77'], { timeoutMs: 300 }));
    expect(err.code).toBe('RAC_SSH_TIMEOUT');
    expect(err.message).toContain('300 ms');
    expect((await sh.exec(['echo', 'still here'])).stdout.toString()).toBe('still here\n');
    // The default timeout applies too.
    const short = shell({ defaultTimeoutMs: 200 });
    expect((await failure(short.exec(['sleep', '7.77']))).code).toBe('RAC_SSH_TIMEOUT');
    expect((await short.exec(['true'], { timeoutMs: 5_000 })).code).toBe(0);
  });

  it('stops a command whose output passes its bound, and says so (never a truncated result)', async () => {
    const sh = shell();
    const err = await failure(
      sh.exec(['sh', '-c', 'head -c 3000000 /dev/zero'], { maxStdoutBytes: 1_000_000, timeoutMs: 10_000 }),
    );
    expect(err.code).toBe('RAC_SSH_OUTPUT_TOO_LARGE');
    expect((await sh.exec(['sh', '-c', 'head -c 1000 /dev/zero'], { maxStdoutBytes: 1_000 })).stdout.length).toBe(1000);
    expect((await sh.exec(['echo', 'still usable'])).stdout.toString()).toBe('still usable\n');
  });

  it('ends a timed-out command on the host too, children included (sshd ignores signals for root)', async () => {
    const sh = shell();
    const marker = `sleep 29.${randomBytes(3).readUIntBE(0, 3)}`;
    const running = async () =>
      (await sh.exec(['sh', '-c', 'pgrep -f "$1" || true', 'sh', `^${marker}$`])).stdout.toString().trim();
    const err = await failure(sh.exec(['sh', '-c', `${marker}; echo late`], { timeoutMs: 1_000 }));
    expect(err.code).toBe('RAC_SSH_TIMEOUT');
    // Without the remote timeout the sleep would run on for 29 s.
    const deadline = Date.now() + 8_000;
    while ((await running()) !== '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await running()).toBe('');
    const untimed = shell({ remoteTimeout: false });
    await failure(untimed.exec(['sh', '-c', `${marker}; echo late`], { timeoutMs: 500 }));
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await running()).not.toBe('');
    await sh.exec(['pkill', '-f', `^${marker}$`]);
  });

  it('an AbortSignal aborts a running exec and one waiting in the queue', async () => {
    const sh = shell({ concurrency: 1 });
    const controller = new AbortController();
    // sleep 1: sshd keeps an aborted root session until its command exits, and so does the slot.
    const running = failure(sh.exec(['sleep', '1'], { signal: controller.signal }));
    const queued = failure(sh.exec(['echo', 'never'], { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('operator cancelled')), 200);
    expect((await running).code).toBe('RAC_SSH_ABORTED');
    expect((await queued).code).toBe('RAC_SSH_ABORTED');
    expect((await failure(sh.exec(['true'], { signal: AbortSignal.abort() }))).code).toBe('RAC_SSH_ABORTED');
    expect((await sh.exec(['true'])).code).toBe(0);
  });

  it('reuses one connection: 50 sequential and 50 concurrent execs authenticate once', async () => {
    const before = accepted(sshd);
    const sh = shell();
    for (let i = 0; i < 50; i++) expect((await sh.exec(['echo', String(i)])).stdout.toString()).toBe(`${i}\n`);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sh.exec(['echo', String(i)])));
    expect(results.map((r) => r.stdout.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `${i}\n`));
    expect(accepted(sshd) - before).toBe(1);
    // And the server sees a single TCP connection from us right now.
    const ss = await run('ss', ['-Htn', 'state', 'established', `( sport = :${sshd.port} )`]);
    const lines = ss.stdout.trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(1);
  });

  it('reconnects transparently on the next call after the server drops the connection', async () => {
    const sh = shell();
    // Rounds 0–1: the client has seen the drop before the next call. Rounds 2–3: it has not (the
    // channel open goes out on the dead connection, fails, and is retried once on a new one).
    for (let round = 0; round < 4; round++) {
      expect((await sh.exec(['echo', 'before'])).stdout.toString()).toBe('before\n');
      const before = accepted(sshd);
      expect(await sshd.killSessions({ wait: round < 2 })).toBeGreaterThan(0);
      expect((await sh.exec(['echo', 'after'])).stdout.toString()).toBe('after\n');
      expect(accepted(sshd) - before).toBe(1);
    }
  });

  it('a drop during an exec rejects it with RAC_SSH_UNAVAILABLE; the next call reconnects', async () => {
    const sh = shell();
    await sh.exec(['true']);
    const running = failure(sh.exec(['sleep', '5']));
    await new Promise((r) => setTimeout(r, 200));
    await sshd.killSessions();
    const err = await running;
    expect(err.code).toBe('RAC_SSH_UNAVAILABLE');
    expect((await sh.exec(['echo', 'back'])).stdout.toString()).toBe('back\n');
  });

  it('holds the per-host concurrency limit (30 × sleep 0.2 at concurrency 5)', async () => {
    const sh = shell({ concurrency: 5 });
    const dir = join(sshd.dir, 'concurrency');
    await sh.exec(['mkdir', '-p', dir]);
    // Each command registers itself, counts who is running, sleeps, leaves.
    const script = 'touch "$1/$$"; ls "$1" | wc -l >> "$1.log"; sleep 0.2; rm "$1/$$"';
    const start = performance.now();
    const results = await Promise.all(Array.from({ length: 30 }, () => sh.exec(['sh', '-c', script, 'sh', dir])));
    const ms = performance.now() - start;
    expect(results.every((r) => r.code === 0)).toBe(true);
    const counts = readFileSync(`${dir}.log`, 'utf8').trim().split('\n').map(Number);
    expect(counts).toHaveLength(30);
    const max = Math.max(...counts);
    console.log(`concurrency 5: max ${max} running at once; 30 × sleep 0.2 took ${ms.toFixed(0)} ms`);
    expect(max).toBeLessThanOrEqual(5);
    expect(max).toBeGreaterThanOrEqual(2);
    rmSync(`${dir}.log`);
  });

  it('openUnixSocket talks to a unix socket on the host (stream-local forwarding)', async () => {
    const path = join(sshd.dir, 'echo.sock');
    const echo = createServer((socket: Socket) => socket.pipe(socket));
    servers.push(echo);
    await new Promise<void>((r) => echo.listen(path, r));
    const sh = shell();
    const stream = await sh.openUnixSocket(path, { timeoutMs: 5_000 });
    const received: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    stream.write('hello over ssh\n');
    const payload = randomBytes(300_000);
    stream.end(payload);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(Buffer.concat(received)).toEqual(Buffer.concat([Buffer.from('hello over ssh\n'), payload]));

    const missing = await failure(sh.openUnixSocket(join(sshd.dir, 'nope.sock')));
    expect(missing.code).toBe('RAC_SSH_CHANNEL');
    expect((await sh.exec(['true'])).code).toBe(0);
  });

  it('scanHostKey returns the key line and the fingerprint ssh-keygen -lf prints', async () => {
    const scanned = await scanHostKey(sshd.host, sshd.port, 5_000);
    expect(scanned.keyLine).toBe(sshd.hostKeyLine);
    expect(scanned.fingerprint).toBe(sshd.hostKeyFingerprint);
    expect(fingerprintOfKey(Buffer.from(sshd.hostKeyLine.split(' ')[1]!, 'base64'))).toBe(sshd.hostKeyFingerprint);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await failure(scanHostKey('127.0.0.1', port, 2_000))).code).toBe('RAC_SSH_UNAVAILABLE');
  });

  it('close() ends the connection; a later call reconnects; await using disposes', async () => {
    const before = accepted(sshd);
    const sh = shell();
    await sh.exec(['true']);
    await sh.close();
    await sh.close(); // idempotent
    expect((await sh.exec(['true'])).code).toBe(0);
    expect(accepted(sshd) - before).toBe(2);
    {
      await using disposable = createSshShell({
        name: 'gw-dispose',
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: new Secret(sshd.clientPrivateKey),
        hostKey: sshd.hostKeyLine,
      });
      expect((await disposable.exec(['true'])).code).toBe(0);
    }
  });

  it('never puts key material in error messages', () => {
    const body = sshd.clientPrivateKey
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .map((l) => l.slice(0, 20));
    expect(messages.length).toBeGreaterThan(10);
    for (const message of messages) {
      for (const fragment of body) expect(message).not.toContain(fragment);
      expect(message).not.toContain('PRIVATE KEY');
    }
  });
});

describe('SSH client keys that are encrypted or held by ssh-agent, against a real sshd', () => {
  let sshd: LocalSshd;
  let dir: string;
  let agent: { pid: number; socket: string } | null = null;

  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'rac-keys-'));
    // The same key pair (so the server knows it), encrypted with a passphrase.
    writeFileSync(join(dir, 'enc'), sshd.clientPrivateKey, { mode: 0o600 });
    await run('ssh-keygen', ['-q', '-p', '-N', 'open sesame', '-P', '', '-f', join(dir, 'enc')]);
  }, 60_000);

  afterAll(async () => {
    if (agent !== null) process.kill(agent.pid, 'SIGTERM');
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (overrides: Partial<SshShellOptions>): SshShellOptions => ({
    name: 'gw-keys',
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    hostKey: sshd.hostKeyLine,
    ...overrides,
  });

  it('opens an encrypted key with its passphrase, and says what to do without it', async () => {
    const encrypted = new Secret(readFileSync(join(dir, 'enc'), 'utf8'));
    expect(encrypted.reveal()).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    const shell = createSshShell(options({ privateKey: encrypted, passphrase: new Secret('open sesame') }));
    try {
      expect((await shell.exec(['echo', 'ok'])).stdout.toString()).toBe('ok\n');
    } finally {
      await shell.close();
    }
    expect(() => createSshShell(options({ privateKey: encrypted }))).toThrowError(
      /encrypted: give ssh.passphrase_file/,
    );
    expect(() => createSshShell(options({ privateKey: encrypted, passphrase: new Secret('wrong') }))).toThrowError(
      /passphrase does not open it/,
    );
  });

  it('authenticates with a key held by ssh-agent, which never enters rac', async () => {
    const socket = join(dir, 'agent.sock');
    const { stdout } = await run('ssh-agent', ['-a', socket, '-s']);
    agent = { pid: Number(/SSH_AGENT_PID=(\d+)/.exec(stdout)?.[1]), socket };
    await run('ssh-add', ['-q', sshd.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    const shell = createSshShell(options({ agent: socket }));
    try {
      expect((await shell.exec(['echo', 'via-agent'])).stdout.toString()).toBe('via-agent\n');
    } finally {
      await shell.close();
    }
    expect(() => createSshShell(options({}))).toThrowError(/no private key and no ssh-agent socket/);
  });
});
