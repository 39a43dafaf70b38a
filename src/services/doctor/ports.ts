import type { Config, GatewayConfig } from '../../config/schema.ts';
import type { Finding, FindingStatus } from '../../core/doctor/findings.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../ports.ts';

/** What `rac doctor` needs of the directory and the hosts: narrow ports, implemented in adapters. */

export interface ProbeEntry {
  readonly dn: string;
  /** Attribute values by lower-cased attribute name. */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

/** The directory, looked at step by step so that each step's failure is reported as itself. */
export interface DirectoryProbe {
  readonly url: string;
  /** A TCP connection to the server. */
  reach(): Promise<void>;
  /** TLS as configured, certificate verified: ldaps:// handshake, StartTLS, or 'none' (cleartext). */
  secure(): Promise<'ldaps' | 'starttls' | 'none'>;
  bind(): Promise<void>;
  /** One entry, or null when it does not exist. */
  readEntry(dn: string, attributes: readonly string[]): Promise<ProbeEntry | null>;
  /** Up to `limit` entries under `base` that have `attribute`. */
  findWithAttribute(
    base: string,
    attribute: string,
    attributes: readonly string[],
    limit: number,
  ): Promise<readonly ProbeEntry[]>;
  /** Entries with `attribute` read by a paged search, stopping once more than `stopAfter` are seen. */
  countPaged(base: string, attribute: string, stopAfter: number, pageSize: number): Promise<number>;
  /** One modify operation: its changes are applied together or not at all. */
  modify(
    dn: string,
    changes: ReadonlyArray<{ operation: 'add' | 'delete'; attribute: string; value: string }>,
  ): Promise<void>;
  /** Lower-cased names of the attribute types and object classes the server's schema defines. */
  schemaNames(): Promise<{ attributeTypes: ReadonlySet<string>; objectClasses: ReadonlySet<string> }>;
  close(): Promise<void>;
}

/** One managed host, as the doctor reaches it. */
export interface DoctorHost {
  readonly gateway: GatewayConfig;
  /** The host key the host offers now (nothing past key exchange is sent). */
  scanHostKey(): Promise<{ keyLine: string; fingerprint: string }>;
  /** The fingerprint of the configured pin (throws RAC_SSH_HOST_KEY_PIN_INVALID), null when none is configured. */
  pinnedFingerprint(): string | null;
  /** A shell over SSH with the pinned host key (throws on an unusable client key). */
  shell(): RemoteShell;
  /**
   * rac's own calls as root on this host, by name (`ccdKind`, `config`, `publicKey`, `test`,
   * `dump`…): inline as root, or its installed program through sudo (ssh.become).
   */
  runAsRoot(call: string, options?: ExecOptions): Promise<ExecResult>;
  /** Every call rac makes as root here: the program's path, its content digest, the arguments. */
  rootCalls(): ReadonlyArray<{
    readonly name: string;
    readonly path: string;
    readonly sha256: string;
    readonly args: readonly string[];
  }>;
  /** OpenVPN: one management command answered by SUCCESS:/ERROR:. */
  management(command: string): Promise<{ ok: boolean; text: string }>;
  close(): Promise<void>;
}

export interface DoctorDeps {
  readonly config: Config;
  readonly directory: DirectoryProbe;
  readonly hosts: readonly DoctorHost[];
}

export interface DoctorReport {
  readonly findings: readonly Finding[];
  readonly counts: Record<FindingStatus, number>;
  /** 0 nothing blocks an apply, 2 something does, 6 the directory or a host could not be reached. */
  readonly exitCode: number;
}
