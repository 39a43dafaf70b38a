import type { Duplex } from 'node:stream';
import { AppError } from '../../../core/errors.ts';
import type { RemoteShell } from '../../../ports.ts';

/**
 * A conversation with OpenVPN's management interface, reached through the SSH connection
 * (stream-local forwarding to its unix socket: nothing installed on the gateway). The interface
 * serves one client at a time, so every conversation is short, bounded by a timeout, and ends
 * with `quit`.
 */
export interface ManagementSession {
  /** A command answered by lines up to `END` (status). */
  multi(command: string): Promise<string>;
  /** A command answered by one `SUCCESS:` or `ERROR:` line. */
  single(command: string): Promise<{ ok: boolean; text: string }>;
}

export async function withManagement<T>(
  shell: RemoteShell,
  socketPath: string,
  timeoutMs: number,
  fn: (session: ManagementSession) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const stream = await shell.openUnixSocket(socketPath, { timeoutMs, ...(signal === undefined ? {} : { signal }) });
  const reader = createLineReader(stream);
  const deadline = setTimeout(() => {
    reader.fail(
      new AppError('RAC_GATEWAY_TIMEOUT', `${shell.name}: management interface did not answer within ${timeoutMs} ms`),
    );
    stream.destroy();
  }, timeoutMs);
  const onAbort = () => {
    reader.fail(
      new AppError('RAC_GATEWAY_TIMEOUT', `${shell.name}: management conversation aborted (${String(signal?.reason)})`),
    );
    stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const banner = await reader.next();
    if (!banner.startsWith('>INFO:')) {
      throw new AppError(
        'RAC_GATEWAY_PROTOCOL',
        `${shell.name}: unexpected management banner ${JSON.stringify(banner.slice(0, 80))}`,
      );
    }
    const session: ManagementSession = {
      async multi(command) {
        stream.write(`${command}\n`);
        const lines: string[] = [];
        for (;;) {
          const line = await reader.next();
          if (line === 'END') return lines.join('\n');
          if (line.startsWith('ERROR:'))
            throw new AppError('RAC_GATEWAY_PROTOCOL', `${shell.name}: ${command}: ${line}`);
          lines.push(line);
        }
      },
      async single(command) {
        stream.write(`${command}\n`);
        const line = await reader.next();
        return { ok: line.startsWith('SUCCESS:'), text: line };
      },
    };
    const result = await fn(session);
    stream.end('quit\n');
    return result;
  } finally {
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

/** Lines from the stream, without notifications (`>LOG:`, `>CLIENT:` …) after the banner. */
function createLineReader(stream: Duplex) {
  let buffer = '';
  let seenBanner = false;
  const lines: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  let failure: Error | null = null;
  const pump = () => {
    while (waiting.length > 0 && lines.length > 0) waiting.shift()?.resolve(lines.shift() as string);
    if (failure !== null) while (waiting.length > 0) waiting.shift()?.reject(failure);
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      const line = buffer.slice(0, i).replace(/\r$/, '');
      buffer = buffer.slice(i + 1);
      if (!seenBanner) {
        seenBanner = true;
        lines.push(line);
      } else if (!line.startsWith('>')) lines.push(line);
      i = buffer.indexOf('\n');
    }
    pump();
  });
  const closed = () => {
    failure ??= new AppError('RAC_GATEWAY_UNAVAILABLE', 'management interface closed the connection');
    pump();
  };
  stream.on('end', closed);
  stream.on('close', closed);
  stream.on('error', (err) => {
    failure ??= new AppError('RAC_GATEWAY_UNAVAILABLE', `management interface: ${err.message}`, { cause: err });
    pump();
  });
  return {
    next(): Promise<string> {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        pump();
      });
    },
    fail(err: Error) {
      failure = err;
      pump();
    },
  };
}
