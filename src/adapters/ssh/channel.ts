import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import type { ClientChannel, Client as SshClient } from 'ssh2';
import { AppError } from '../../core/errors.ts';
import type { ExecResult } from '../../ports.ts';
import { hostLabel } from './errors.ts';

/** The channels of one SSH connection: an exec and its stdin, output bounds and kill; a stream-local forward. */

const STDERR_CAP = 64 * 1024;
/** Default bound on one command's stdout (a 50 000-file CCD tar is ~80 MB). */
export const STDOUT_CAP = 256 * 1024 * 1024;
const STDIN_CHUNK = 64 * 1024;
/**
 * After a timeout or abort, how long a slot stays taken waiting for the server to close the channel.
 * sshd keeps the session (and its MaxSessions count) until the command exits, and refuses the KILL
 * signal request for root logins, so a hung command can hold a session for long: the slot follows
 * it for this long at most, then the queue moves on.
 */
const CLOSE_GRACE_MS = 5_000;

/** Who the messages name. */
export interface ChannelLabel {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface Connection {
  readonly client: SshClient;
  alive: boolean;
}

/** Thrown internally when a channel could not even be opened on a connection that turned out dead. */
export class StaleConnection extends Error {}

/**
 * Runs one command on `conn`. `result` settles with the outcome (or the abort reason); `closed`
 * settles once the channel is closed, which is when its slot may go to the next call.
 */
export function startExec(
  base: ChannelLabel,
  conn: Connection,
  command: string,
  stdin: Uint8Array | undefined,
  signal: AbortSignal,
  maxStdout: number,
): { result: Promise<ExecResult>; closed: Promise<void> } {
  let channelClosed!: () => void;
  const closed = new Promise<void>((r) => {
    channelClosed = r;
  });
  const result = new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () => {
      finish(() => reject(signal.reason));
      if (channel !== undefined) {
        // Kill the remote command (OpenSSH honours the 'signal' request), then close the channel.
        killRemote(channel);
        try {
          channel.close();
        } catch {}
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const onChannel = (err: Error | undefined, ch: ClientChannel) => {
      if (err !== undefined) {
        channelClosed();
        // Never opened: nothing ran, so the caller may retry on a fresh connection.
        if (/no response from server/i.test(err.message)) finish(() => reject(new StaleConnection(err.message)));
        else if (!conn.alive)
          finish(() =>
            reject(
              new AppError('RAC_SSH_UNAVAILABLE', `connection to ${hostLabel(base)} lost while starting the command`, {
                cause: err,
              }),
            ),
          );
        else finish(() => reject(err));
        return;
      }
      channel = ch;
      if (settled) {
        // Aborted while the channel was opening.
        ch.close();
        channelClosed();
        return;
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let stderrBytes = 0;
      let stderrDropped = 0;
      let exitCode: number | undefined;
      let stderrEnded = false;
      let chClosed = false;
      let stdoutBytes = 0;
      ch.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        if (stdoutBytes > maxStdout) {
          // Bounded like stderr, but never truncated: a cut tar or listing would be misread.
          finish(() =>
            reject(
              new AppError(
                'RAC_SSH_OUTPUT_TOO_LARGE',
                `${hostLabel(base)}: the command's output passed ${maxStdout} bytes; stopped it`,
                { details: { host: base.name, limit: maxStdout } },
              ),
            ),
          );
          killRemote(ch);
          try {
            ch.close();
          } catch {}
          return;
        }
        stdout.push(chunk);
      });
      ch.stderr.on('data', (chunk: Buffer) => {
        const room = STDERR_CAP - stderrBytes;
        if (room > 0) {
          const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
          stderr.push(kept);
          stderrBytes += kept.length;
        }
        stderrDropped += Math.max(0, chunk.length - Math.max(room, 0));
      });
      const onExit = (code: number | null | undefined, signalName?: string) => {
        if (exitCode !== undefined) return;
        if (typeof code === 'number') exitCode = code;
        else if (typeof signalName === 'string') exitCode = 128 + signalNumber(signalName);
      };
      const maybeDone = () => {
        if (!chClosed || !stderrEnded) return;
        channelClosed();
        if (exitCode === undefined) {
          finish(() =>
            reject(
              conn.alive
                ? new AppError('RAC_SSH_ERROR', `${hostLabel(base)} closed the channel without an exit status`)
                : new AppError(
                    'RAC_SSH_UNAVAILABLE',
                    `connection to ${hostLabel(base)} lost before the command finished (it may have run)`,
                  ),
            ),
          );
          return;
        }
        let text = Buffer.concat(stderr).toString('utf8');
        if (stderrDropped > 0) text += `\n[rac: ${stderrDropped} more bytes of stderr dropped]`;
        const result: ExecResult = { code: exitCode, stdout: Buffer.concat(stdout), stderr: text };
        finish(() => resolve(result));
      };
      ch.on('exit', onExit);
      ch.on('close', (code: number | null | undefined, signalName?: string) => {
        onExit(code, signalName);
        chClosed = true;
        maybeDone();
      });
      ch.stderr.on('end', () => {
        stderrEnded = true;
        maybeDone();
      });
      ch.stderr.on('close', () => {
        stderrEnded = true;
        maybeDone();
      });
      // Write errors (the command exited without reading its stdin) are not the result: the exit status is.
      ch.on('error', () => {});
      void pumpStdin(ch, stdin);
    };

    try {
      conn.client.exec(command, onChannel);
    } catch (err) {
      channelClosed();
      // 'Not connected': the socket was already gone, nothing was sent.
      finish(() => reject(new StaleConnection(err instanceof Error ? err.message : String(err))));
    }
  });
  return { result, closed };
}

export function openStreamLocal(
  base: ChannelLabel,
  conn: Connection,
  path: string,
  signal: AbortSignal,
): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      conn.client.openssh_forwardOutStreamLocal(path, (err, channel) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) {
          channel?.close();
          return;
        }
        settled = true;
        if (err === undefined) {
          resolve(channel);
          return;
        }
        if (/no response from server/i.test(err.message)) reject(new StaleConnection(err.message));
        else if (/channel open failure/i.test(err.message)) {
          reject(
            new AppError(
              'RAC_SSH_CHANNEL',
              `${hostLabel(base)} could not connect to unix socket ${path} (missing, refused, or stream-local forwarding disabled)`,
              { cause: err, details: { host: base.name, path } },
            ),
          );
        } else reject(err);
      });
    } catch (err) {
      settled = true;
      signal.removeEventListener('abort', onAbort);
      reject(new StaleConnection(err instanceof Error ? err.message : String(err)));
    }
  });
}

/**
 * Sends SIGKILL to the remote command (RFC 4254 'signal' request; OpenSSH honours it for exec
 * sessions). ssh2's `channel.signal()` silently does nothing once our side of the channel has sent
 * EOF (stdin ended) — which is always the case here — so the request goes through its protocol
 * object. Best effort: if ssh2's internals ever change, the channel is still closed.
 */
function killRemote(channel: ClientChannel): void {
  const internals = channel as unknown as {
    type?: unknown;
    outgoing?: { id?: unknown; state?: unknown };
    _client?: { _protocol?: { signal?: unknown } };
  };
  const protocol = internals._client?._protocol;
  const id = internals.outgoing?.id;
  const state = internals.outgoing?.state;
  try {
    if (
      internals.type === 'session' &&
      (state === 'open' || state === 'eof') &&
      typeof id === 'number' &&
      typeof protocol?.signal === 'function'
    ) {
      protocol.signal(id, 'KILL');
    } else {
      channel.signal('KILL');
    }
  } catch {}
}

export function releaseAfter(closed: Promise<void>, release: () => void): void {
  const timer = setTimeout(release, CLOSE_GRACE_MS);
  timer.unref();
  void closed.then(() => {
    clearTimeout(timer);
    release();
  });
}

export function endConnection(conn: Connection): Promise<void> {
  conn.alive = false;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      conn.client.destroy();
      resolve();
    }, 1_000);
    conn.client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    conn.client.end();
  });
}

/** Writes stdin in chunks, waiting for 'drain' (ssh2 applies the channel window), then ends it. */
async function pumpStdin(channel: ClientChannel, stdin: Uint8Array | undefined): Promise<void> {
  if (stdin === undefined || stdin.length === 0) {
    channel.end();
    return;
  }
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  channel.once('close', onClose);
  try {
    for (let offset = 0; offset < stdin.length && !closed; offset += STDIN_CHUNK) {
      if (!channel.write(stdin.subarray(offset, offset + STDIN_CHUNK))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            channel.off('drain', done);
            channel.off('close', done);
            resolve();
          };
          channel.on('drain', done);
          channel.on('close', done);
        });
      }
    }
    if (!closed) channel.end();
  } catch {
    // The channel went away; its close decides the outcome.
  } finally {
    channel.off('close', onClose);
  }
}

function signalNumber(name: string): number {
  const key = (name.startsWith('SIG') ? name : `SIG${name}`) as keyof typeof osConstants.signals;
  const n = osConstants.signals[key];
  return typeof n === 'number' ? n : 0;
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
