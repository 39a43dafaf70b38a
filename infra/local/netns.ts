/**
 * Network namespaces, veth pairs and the processes run inside them, for the local test stack of
 * gateway and bastion hosts (infra/local/openvpn-gateway.ts, bastion-host.ts, vpn-clients.ts).
 *
 * Everything this process creates is recorded in a registry: `cleanupAll()` removes it (and runs
 * by itself, synchronously, on process 'exit'). The registry is mirrored to a small JSON file per
 * run in STATE_DIR, so a later process can sweep what a crashed (SIGKILLed) one left behind:
 * `sweepStaleRuns()`, called before the first namespace of a process is created.
 *
 * Network rule: 10.x addresses only on interfaces created here (inside our namespaces, or the
 * root-side end of our own veth pairs); the root namespace's routes and sysctls are never touched
 * (the kernel adds the connected /30 route of a root-side veth address by itself).
 *
 * Address plan of a run (see `rootLink`): each run id reserves one /24 in 10.231.0.0/16 (a lock
 * file per slot in STATE_DIR, and a check that no root-namespace interface already uses it); host
 * k of the run gets the /30 10.231.S.4k/30 (.4k+1 root side, .4k+2 namespace side).
 */
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Fixed (not os.tmpdir()) so every process of the machine agrees on it. */
export const STATE_DIR = '/tmp/rac-netns';
export const IP = '/usr/sbin/ip';
/** Prefix of every namespace name created through `namespaceName`. */
export const NAMESPACE_PREFIX = 'rac-';
/** Runs take /24s of this /16 (second and third octets: 10.231.S.0/24). */
const ROOT_LINK_OCTET = 231;
const SLOTS = 256;
const MAX_HOSTS_PER_RUN = 63;
const NAME_RE = /^[a-z0-9][a-z0-9.-]{0,40}$/;
const RUN_ID_RE = /^[a-z][a-z0-9]{3,7}$/;
const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

// ---------------------------------------------------------------------------------------------
// Running commands

export interface ExecResult {
  /** Exit code, or null when killed by a signal (see `signal`) or on timeout. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Cap on captured stdout/stderr each (default 8 MiB); the rest is dropped. */
  maxBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs argv (no shell) and resolves with its result; never rejects for a non-zero exit. */
export async function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('exec: empty argv');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  return await new Promise<ExecResult>((resolveExec, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes < maxBytes) out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < maxBytes) err.push(b);
      errBytes += b.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveExec({
        code: timedOut ? null : code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.on('error', () => {}); // EPIPE when the command does not read its input
    child.stdin.end(options.input ?? '');
  });
}

/** `exec`, but rejects (with the command and its stderr) unless it exits 0. */
export async function execOk(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const result = await exec(argv, options);
  if (result.code !== 0) {
    const why = result.timedOut
      ? `timed out after ${options.timeoutMs ?? 30_000} ms`
      : `exit ${result.code ?? result.signal}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-20).join('\n');
    throw new Error(`${argv.join(' ')}: ${why}${detail ? `\n${detail}` : ''}`);
  }
  return result;
}

/** argv prefixed to run inside namespace `ns` ('root' = as is). `ip netns exec` execs, so the pid is the command's. */
export function inNamespace(ns: string | 'root', argv: readonly string[]): string[] {
  if (ns === 'root') return [...argv];
  assertNamespaceName(ns);
  return [IP, 'netns', 'exec', ns, ...argv];
}

/** Runs argv inside network namespace `ns` (or 'root'); resolves with its result, never rejects on exit codes. */
export async function execIn(
  ns: string | 'root',
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return await exec(inNamespace(ns, argv), options);
}

// ---------------------------------------------------------------------------------------------
// Processes

/** /proc/PID/cmdline with NULs as spaces, or undefined when there is no such process. */
export function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Start time of a process (clock ticks since boot): with the pid, identifies it across pid reuse. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and its command line contains `match` (pidfiles go stale; pids get reused). */
export function isOurProcess(pid: number, match: string): boolean {
  const cmdline = cmdlineOf(pid);
  return (cmdline?.includes(match) ?? false) && isAlive(pid);
}

export interface TrackedProcess {
  pid: number;
  /** A string that must be in /proc/PID/cmdline before we signal it (e.g. its config path). */
  match: string;
  /** Written with the pid on `trackProcess`, removed on `untrackProcess`. */
  pidfile?: string;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(15);
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * Stops a process we started: checks /proc/PID/cmdline for `match` first (never signals a
 * stranger), then `sig` (default SIGTERM), waits up to `graceMs`, then SIGKILL and waits again.
 * Resolves true when it is gone (or was not ours / not running).
 */
export async function killProcess(
  pid: number,
  match: string,
  options: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<boolean> {
  if (!isOurProcess(pid, match)) return true;
  signal(pid, options.signal ?? 'SIGTERM');
  if (await waitGone(pid, options.graceMs ?? 3_000)) return true;
  if (!isOurProcess(pid, match)) return true;
  signal(pid, 'SIGKILL');
  return await waitGone(pid, 3_000);
}

/**
 * Spawns argv inside `ns` (or 'root'), tracked for cleanup (`match` defaults to the last argv
 * element that contains a '/'; pass something unique to this process, such as its config path).
 */
export function spawnIn(
  ns: string | 'root',
  argv: readonly string[],
  options: { match?: string; pidfile?: string; stdio?: StdioOptions; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const full = inNamespace(ns, argv);
  const [command, ...args] = full;
  if (command === undefined) throw new Error('spawnIn: empty argv');
  const match = options.match ?? [...argv].reverse().find((a) => a.includes('/')) ?? argv.join(' ');
  const child = spawn(command, args, { stdio: options.stdio ?? 'ignore', env: options.env ?? process.env });
  const pid = child.pid;
  if (pid !== undefined) {
    trackProcess({ pid, match, ...(options.pidfile === undefined ? {} : { pidfile: options.pidfile }) });
    child.once('exit', () => untrackProcess(pid));
  }
  return child;
}

// ---------------------------------------------------------------------------------------------
// The registry

interface RunRecord {
  pid: number;
  startTime: string | undefined;
  slots: number[];
  namespaces: string[];
  links: string[];
  processes: TrackedProcess[];
  paths: string[];
}

const registry = {
  namespaces: new Set<string>(),
  /** Root-side veth ends (they die with their peer's namespace; deleted explicitly if not). */
  links: new Set<string>(),
  processes: new Map<number, TrackedProcess>(),
  paths: new Set<string>(),
  /** run id -> its /24 slot */
  slots: new Map<string, number>(),
};
/** One record file per process (several runIds of one process share it). */
const tag = randomTag(5);
let exitHandlerInstalled = false;
let swept = false;
let linkSeq = 0;

function randomTag(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let text = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < length; i++) text += alphabet[bytes[i]! % alphabet.length]!;
  return text;
}

function recordFile(): string {
  return join(STATE_DIR, `run-${tag}.json`);
}

function persist(): void {
  installExitHandler();
  const record: RunRecord = {
    pid: process.pid,
    startTime: startTimeOf(process.pid),
    slots: [...registry.slots.values()],
    namespaces: [...registry.namespaces],
    links: [...registry.links],
    processes: [...registry.processes.values()],
    paths: [...registry.paths],
  };
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const tmp = `${recordFile()}.tmp`;
  writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  renameSync(tmp, recordFile());
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => cleanupAllSync());
}

export function trackProcess(p: TrackedProcess): void {
  registry.processes.set(p.pid, p);
  if (p.pidfile !== undefined) writeFileSync(p.pidfile, `${p.pid}\n`, { mode: 0o600 });
  persist();
}

export function untrackProcess(pid: number): void {
  const p = registry.processes.get(pid);
  if (p === undefined) return;
  registry.processes.delete(pid);
  if (p.pidfile !== undefined) rmSync(p.pidfile, { force: true });
  persist();
}

/** A file or directory that `cleanupAll` removes (recursively). */
export function registerPath(path: string): void {
  registry.paths.add(path);
  persist();
}

export function unregisterPath(path: string): void {
  registry.paths.delete(path);
  persist();
}

/**
 * Where data directories of hosts and clients go: /dev/shm when it is a tmpfs (copying /etc there
 * takes ~20 ms against ~1 s on this machine kind's /tmp, and credentials never touch a disk),
 * else os.tmpdir().
 */
export function scratchRoot(): string {
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    if (/^\S+ \/dev\/shm tmpfs /m.test(mounts)) return '/dev/shm';
  } catch {
    // no /proc: fall through
  }
  return tmpdir();
}

/** A fresh 0700 directory `<scratchRoot>/<prefix>XXXXXX`, registered for cleanup. */
export async function makeDataDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(scratchRoot(), prefix));
  registerPath(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Names

/** A fresh run id: 6 chars, [a-z][a-z0-9]{5}; namespaces are `rac-<runId>-<role>`. */
export function newRunId(): string {
  return randomTag(6);
}

export function assertRunId(runId: string): void {
  if (!RUN_ID_RE.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}: must match ${RUN_ID_RE}`);
}

/** `rac-<runId>-<role>`, e.g. rac-k3f9a2-gw1. */
export function namespaceName(runId: string, role: string): string {
  assertRunId(runId);
  const name = `${NAMESPACE_PREFIX}${runId}-${role}`;
  assertNamespaceName(name);
  return name;
}

function assertNamespaceName(name: string): void {
  if (!NAME_RE.test(name) || name === 'root') throw new Error(`invalid namespace name ${JSON.stringify(name)}`);
}

// ---------------------------------------------------------------------------------------------
// Namespaces and links

/** Creates network namespace `name` with `lo` up. Registered for cleanup. */
export async function createNamespace(name: string): Promise<void> {
  assertNamespaceName(name);
  if (!swept) {
    swept = true;
    await sweepStaleRuns();
  }
  if (existsSync(`/run/netns/${name}`)) throw new Error(`namespace ${name} exists already`);
  await execOk([IP, 'netns', 'add', name], { timeoutMs: 10_000 });
  registry.namespaces.add(name);
  persist();
  await execOk([IP, '-n', name, 'link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
}

export async function namespaceExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`);
}

/** Pids of every process whose network namespace is `name`. */
export async function namespacePids(name: string): Promise<number[]> {
  const result = await exec([IP, 'netns', 'pids', name], { timeoutMs: 10_000 });
  if (result.code !== 0) return [];
  return result.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isSafeInteger(n) && n > 1);
}

/**
 * Kills every process in namespace `name` (they are all ours: the namespace is), then deletes it
 * (veth pairs with an end inside go with it). Idempotent.
 */
export async function deleteNamespace(name: string): Promise<void> {
  assertNamespaceName(name);
  if (existsSync(`/run/netns/${name}`)) {
    for (let round = 0; round < 3; round++) {
      const pids = await namespacePids(name);
      if (pids.length === 0) break;
      const sig: NodeJS.Signals = round === 0 ? 'SIGTERM' : 'SIGKILL';
      for (const pid of pids) signal(pid, sig);
      await Promise.all(pids.map((pid) => waitGone(pid, round === 0 ? 2_000 : 3_000)));
    }
    const result = await exec([IP, 'netns', 'del', name], { timeoutMs: 10_000 });
    if (result.code !== 0 && existsSync(`/run/netns/${name}`)) {
      throw new Error(`ip netns del ${name} failed: ${result.stderr.trim()}`);
    }
  }
  registry.namespaces.delete(name);
  persist();
}

function parseCidr(cidr: string): { address: string; prefix: number; octets: number[] } {
  const m = CIDR_RE.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 32) {
    throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  }
  return { address: octets.join('.'), prefix, octets };
}

export interface Link {
  /** Interface name on side a (in the root namespace when a is 'root'). */
  ifA: string;
  ifB: string;
}

/**
 * A veth pair between `a` (a namespace of ours, or 'root') and namespace `b`, with `addrA` /
 * `addrB` (CIDR, e.g. 10.231.7.5/30) set and both ends up. Interface names are unique per
 * process and short (≤ 15 chars): rv<tag><seq>a / …b. On the root side only 10.0.0.0/8 is allowed.
 */
export async function linkNamespaces(a: string | 'root', addrA: string, b: string, addrB: string): Promise<Link> {
  if (b === 'root') throw new Error('linkNamespaces: only side a may be the root namespace');
  const pa = parseCidr(addrA);
  parseCidr(addrB);
  if (a === 'root' && pa.octets[0] !== 10) throw new Error(`root-side address must be in 10.0.0.0/8, got ${addrA}`);
  for (const ns of a === 'root' ? [b] : [a, b]) {
    if (!registry.namespaces.has(ns)) throw new Error(`namespace ${ns} was not created by this process`);
  }
  linkSeq += 1;
  const ifA = `rv${tag}${linkSeq}a`;
  const ifB = `rv${tag}${linkSeq}b`;
  const onA = a === 'root' ? [IP] : [IP, '-n', a];
  await execOk([...onA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b], { timeoutMs: 10_000 });
  if (a === 'root') {
    registry.links.add(ifA);
    persist();
  }
  await execOk([...onA, 'addr', 'add', addrA, 'dev', ifA], { timeoutMs: 10_000 });
  await execOk([IP, '-n', b, 'addr', 'add', addrB, 'dev', ifB], { timeoutMs: 10_000 });
  await execOk([...onA, 'link', 'set', ifA, 'up'], { timeoutMs: 10_000 });
  await execOk([IP, '-n', b, 'link', 'set', ifB, 'up'], { timeoutMs: 10_000 });
  return { ifA, ifB };
}

// ---------------------------------------------------------------------------------------------
// The run's /24 of root-namespace link addresses

interface SlotLock {
  pid: number;
  startTime: string | undefined;
}

function slotFile(slot: number): string {
  return join(STATE_DIR, `slot-${slot}`);
}

function holderAlive(lock: SlotLock): boolean {
  return isAlive(lock.pid) && startTimeOf(lock.pid) === lock.startTime;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function rootSubnetsInUse(): Promise<Set<number>> {
  const result = await execOk([IP, '-4', '-o', 'addr', 'show'], { timeoutMs: 10_000 });
  const used = new Set<number>();
  for (const m of result.stdout.matchAll(/inet 10\.(\d+)\.(\d+)\.\d+\//g)) {
    if (Number(m[1]) === ROOT_LINK_OCTET) used.add(Number(m[2]));
  }
  return used;
}

const pendingSlots = new Map<string, Promise<number>>();

/** The /24 slot of run `runId` (reserved on first use). */
async function reserveSlot(runId: string): Promise<number> {
  let pending = pendingSlots.get(runId);
  if (pending === undefined) {
    pending = findSlot(runId);
    pendingSlots.set(runId, pending);
    pending.catch(() => pendingSlots.delete(runId));
  }
  return await pending;
}

async function findSlot(runId: string): Promise<number> {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const used = await rootSubnetsInUse();
  const start = randomBytes(1)[0]!;
  for (let i = 0; i < SLOTS; i++) {
    const slot = (start + i) % SLOTS;
    if (used.has(slot) || [...registry.slots.values()].includes(slot)) continue;
    const file = slotFile(slot);
    const lock: SlotLock = { pid: process.pid, startTime: startTimeOf(process.pid) };
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(lock));
      closeSync(fd);
    } catch {
      const holder = readJson<SlotLock>(file);
      if (holder === undefined || holderAlive(holder)) continue;
      // Stale lock of a dead process: remove it (a later reservation takes the slot with 'wx').
      try {
        unlinkSync(file);
      } catch {
        // someone else removed it
      }
      continue;
    }
    registry.slots.set(runId, slot);
    persist();
    return slot;
  }
  throw new Error(`no free 10.${ROOT_LINK_OCTET}.S.0/24 slot for root-namespace links (see ${STATE_DIR})`);
}

export interface RootLinkAddresses {
  /** e.g. 10.231.7.5/30 (root-namespace end) */
  rootCidr: string;
  /** e.g. 10.231.7.6/30 (namespace end) */
  nsCidr: string;
  rootAddress: string;
  nsAddress: string;
}

/**
 * Addresses for host `k` (1..63) of run `runId` on a link to the root namespace:
 * 10.231.S.(4k+1)/30 and 10.231.S.(4k+2)/30, S reserved per run id (and per machine: lock files
 * in STATE_DIR). OpenVPN gateways use k = index, bastions k = 16 + index, WireGuard gateways
 * k = 32 + index, proxies k = 48 + index (index 1..9 each).
 */
export async function rootLink(runId: string, k: number): Promise<RootLinkAddresses> {
  assertRunId(runId);
  if (!Number.isInteger(k) || k < 1 || k > MAX_HOSTS_PER_RUN)
    throw new Error(`root link host number ${k} out of 1..63`);
  const slot = await reserveSlot(runId);
  const base = `10.${ROOT_LINK_OCTET}.${slot}.`;
  const rootAddress = `${base}${4 * k + 1}`;
  const nsAddress = `${base}${4 * k + 2}`;
  return { rootCidr: `${rootAddress}/30`, nsCidr: `${nsAddress}/30`, rootAddress, nsAddress };
}

// ---------------------------------------------------------------------------------------------
// Cleanup

/** Removes everything this process created: namespaces, processes, root-side links, paths, slots. */
export async function cleanupAll(): Promise<void> {
  // Namespaces first: that ends every process inside (a host's sshd is PID 1 of its own PID
  // namespace, so its sessions and `unshare` go with it); then whatever tracked process is left.
  await Promise.all([...registry.namespaces].map((ns) => deleteNamespace(ns)));
  await Promise.all(
    [...registry.processes.values()].map(async (p) => {
      await killProcess(p.pid, p.match, { graceMs: 2_000 });
      untrackProcess(p.pid);
    }),
  );
  for (const link of [...registry.links]) {
    await exec([IP, 'link', 'del', link], { timeoutMs: 10_000 }); // usually gone with its peer already
    registry.links.delete(link);
  }
  for (const path of [...registry.paths]) {
    await rm(path, { recursive: true, force: true });
    registry.paths.delete(path);
  }
  for (const [runId, slot] of [...registry.slots]) {
    rmSync(slotFile(slot), { force: true });
    registry.slots.delete(runId);
    pendingSlots.delete(runId);
  }
  rmSync(recordFile(), { force: true });
}

/** Synchronous best effort for process 'exit' (SIGKILL, no waiting). */
function cleanupAllSync(): void {
  const nothing =
    registry.processes.size === 0 &&
    registry.namespaces.size === 0 &&
    registry.links.size === 0 &&
    registry.paths.size === 0 &&
    registry.slots.size === 0;
  if (nothing) {
    rmSync(recordFile(), { force: true });
    return;
  }
  cleanRecordSync({
    pid: process.pid,
    startTime: undefined,
    slots: [...registry.slots.values()],
    namespaces: [...registry.namespaces],
    links: [...registry.links],
    processes: [...registry.processes.values()],
    paths: [...registry.paths],
  });
  rmSync(recordFile(), { force: true });
}

function cleanRecordSync(record: RunRecord): void {
  for (const p of record.processes) {
    if (isOurProcess(p.pid, p.match)) signal(p.pid, 'SIGKILL');
    if (p.pidfile !== undefined) rmSync(p.pidfile, { force: true });
  }
  for (const ns of record.namespaces) {
    if (!ns.startsWith(NAMESPACE_PREFIX) || !existsSync(`/run/netns/${ns}`)) continue;
    try {
      const pids = execFileSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 });
      for (const line of pids.split('\n')) {
        const pid = Number(line.trim());
        if (Number.isSafeInteger(pid) && pid > 1) signal(pid, 'SIGKILL');
      }
      execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // best effort
    }
  }
  for (const link of record.links) {
    try {
      execFileSync(IP, ['link', 'del', link], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // gone with its peer
    }
  }
  for (const path of record.paths) rmSync(path, { recursive: true, force: true });
  for (const slot of record.slots ?? []) {
    const lock = readJson<SlotLock>(slotFile(slot));
    if (lock === undefined || lock.pid === record.pid) rmSync(slotFile(slot), { force: true });
  }
}

/**
 * Cleans up after processes that died without cleaning (their run record names a dead pid):
 * kills their tracked processes (cmdline-checked), deletes their namespaces, links and paths,
 * frees their slot. Records of live processes are left alone. Returns how many were swept.
 */
export async function sweepStaleRuns(): Promise<number> {
  let files: string[];
  try {
    files = readdirSync(STATE_DIR).filter((f) => /^run-[a-z0-9]+\.json$/.test(f));
  } catch {
    return 0;
  }
  let swept = 0;
  for (const f of files) {
    const file = join(STATE_DIR, f);
    if (file === recordFile()) continue;
    const record = readJson<RunRecord>(file);
    if (record === undefined) continue;
    if (isAlive(record.pid) && startTimeOf(record.pid) === record.startTime) continue;
    cleanRecordSync(record);
    rmSync(file, { force: true });
    swept += 1;
  }
  return swept;
}
