import type { ProxyConfig } from '../../../config/schema.ts';
import { dumpCommandOf } from '../../../core/proxy/dump-command.ts';
import { type HostCall, hostCall, hostProgram } from '../../host-programs/program.ts';

/**
 * The proxy driver's host programs (host-programs/program.ts). Their arguments are fixed by the
 * configuration; what changes per call (sizes, offsets, pids) comes on stdin.
 */

/** Exit codes of APPLY_SCRIPT the driver tells apart. */
export const APPLY_EXIT = { testFailed: 10, reloadFailed: 11 } as const;

/**
 * Puts a new allow map in place and reloads nginx, or leaves the old one:
 *   $1 map path, $2 sizing include path or '-', $3 map_hash_bucket_size, $4 nginx's pid file,
 *   $5 how many of the remaining words are the test command; the rest is the reload command.
 * stdin: a line with map_hash_max_size, then the map. The map goes to a temp file in the map's directory, and is renamed over the
 * map (atomic). The old map is kept as a hard link until `nginx -t` passed with the new one; if it
 * fails the old map is renamed back and nothing is reloaded. Before the reload it prints the
 * master's current workers (`workers <pid>…`): the proof waits until none of them accepts.
 */
const APPLY_SCRIPT = `set -eu
map=$1 hashconf=$2 bucket=$3 pidfile=$4 ntest=$5
shift 5
[ "$hashconf" != - ] || hashconf=
IFS= read -r hashmax
case "$hashmax" in '' | *[!0-9]*) echo "map_hash_max_size must be a number: $hashmax" >&2; exit 3 ;; esac
run_test() (
  n=$1; shift; k=$#; i=0
  for a do
    if [ "$i" -lt "$n" ]; then set -- "$@" "$a"; fi
    i=$((i + 1))
  done
  shift "$k"
  exec "$@"
)
run_reload() (
  n=$1; shift; shift "$n"
  exec "$@"
)
dir=$(dirname -- "$map")
tmp=$(mktemp "$dir/.rac-allow.XXXXXXXX")
trap 'rm -f -- "$tmp" "$tmp.hash"' EXIT
cat >"$tmp"
# Map entries only (what renderAllowMap writes): a directive such as include would have the root
# master read any file; the first line may be rac's comment.
bad=$(awk 'NR == 1 && /^# / { next }
  /^(include|default|hostnames|volatile|"include"|"default"|"hostnames"|"volatile") / { print NR; exit }
  /^"([^"\\\\]|\\\\.)*" [A-Za-z0-9-]+;$/ { next }
  /^(\\\\[^[:space:];{}#"\\\\\\047]|[^[:space:];{}#"\\\\\\047~])[^[:space:];{}#"\\\\\\047]* [A-Za-z0-9-]+;$/ { next }
  { print NR; exit }' "$tmp")
[ -z "$bad" ] || { echo "line $bad of the new map is not a map entry: refused" >&2; exit 3; }
chmod 0644 "$tmp"
had=0
if [ -e "$map" ]; then ln -f -- "$map" "$map.rac-prev"; had=1; fi
hadhash=0
if [ -n "$hashconf" ]; then
  printf '# Managed by rac: sized to the allow map. Include in http {} before the first map.\\nmap_hash_max_size %s;\\nmap_hash_bucket_size %s;\\n' "$hashmax" "$bucket" >"$tmp.hash"
  chmod 0644 "$tmp.hash"
  if [ -e "$hashconf" ]; then ln -f -- "$hashconf" "$hashconf.rac-prev"; hadhash=1; fi
  mv -f -- "$tmp.hash" "$hashconf"
fi
mv -f -- "$tmp" "$map"
restore() {
  if [ "$had" = 1 ]; then mv -f -- "$map.rac-prev" "$map"; else rm -f -- "$map"; fi
  if [ -n "$hashconf" ]; then
    if [ "$hadhash" = 1 ]; then mv -f -- "$hashconf.rac-prev" "$hashconf"; else rm -f -- "$hashconf"; fi
  fi
}
if ! out=$(run_test "$ntest" "$@" 2>&1); then
  restore
  printf '%s\\n' "$out" >&2
  exit ${APPLY_EXIT.testFailed}
fi
rm -f -- "$map.rac-prev"
if [ -n "$hashconf" ]; then rm -f -- "$hashconf.rac-prev"; fi
master=$(cat -- "$pidfile" 2>/dev/null || echo none)
printf 'workers'
ps -e -o pid=,ppid=,args= | while read -r pid ppid args; do
  if [ "$ppid" = "$master" ] && [ "$args" = 'nginx: worker process' ]; then printf ' %s' "$pid"; fi
done
echo
run_reload "$ntest" "$@" || exit ${APPLY_EXIT.reloadFailed}
`;

/** Prints the map, or nothing when there is none yet. $1 map path. */
const READ_MAP_SCRIPT = `set -eu
[ -e "$1" ] || exit 0
exec cat -- "$1"
`;

/**
 * One collection round trip: the host's clock in ms (the active window is measured on the
 * proxy's clock, so skew between rac and the proxy does not matter); one `stat` line
 * "name dev inode size mtime" per file that exists — the log (as /dev/fd/3, the descriptor the
 * bytes are read from), the rotated log, the map — then "."; then, only when the log is still
 * the file of the cursor (dev, inode) and has not shrunk below the offset, its bytes from the
 * offset, at most $4. Which bytes to take is still decided by the core (planLogRead): the driver
 * uses these bytes only when the plan is exactly that read, else it fetches the plan with READ_SCRIPT.
 *   $1 log, $2 rotated log, $3 map, $4 max bytes; stdin: "dev inode offset" ("- - 0": no cursor)
 */
const COLLECT_SCRIPT = `now=$(date +%s%N)
echo "\${now%??????}"
log=$1 rot=$2 map=$3 max=$4
read -r dev ino off || true
if [ "$dev" != - ]; then
  case "$dev$ino$off" in '' | *[!0-9]*) echo "bad cursor: $dev $ino $off" >&2; exit 3 ;; esac
fi
fd=
if [ -r "$log" ] && exec 3<"$log"; then fd=/dev/fd/3; fi
# Read as root: only the log itself, never what a symlink in its place points at.
if [ -n "$fd" ] && [ "$(stat -c '%d %i' -- "$log")" != "$(stat -L -c '%d %i' $fd)" ]; then
  exec 3<&-
  fd=
fi
stats=$(stat -L -c '%n %d %i %s %Y' -- $fd "$rot" "$map" 2>/dev/null)
printf '%s\\n.\\n' "$stats"
nl='
'
# shellcheck disable=SC2086 # split on purpose: the four fields of the first stat line
case "$stats" in
  "/dev/fd/3 "*) set -- \${stats%%"$nl"*} ;;
  *) set -- none - - 0 ;;
esac
if [ "$dev" != - ] && [ "$2" = "$dev" ] && [ "$3" = "$ino" ] && [ "$4" -ge "$off" ]; then
  n=$(($4 - off))
  [ "$n" -le "$max" ] || n=$max
  dd bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$n" status=none <&3
fi
`;

/** Exit code of READ_SCRIPT when a file is no longer the one planned (rotated in between). */
export const READ_CHANGED_EXIT = 75;

/**
 * Prints exactly the planned bytes, segment after segment: stdin lines "role dev inode from
 * length", role `current` ($1, the log) or `previous` ($2, the rotated log). Each file is opened once and checked to be the planned inode
 * through its descriptor before anything is read, so a rotation in between cannot mix files.
 * `dd` seeks to `from`: never reads the file from its start.
 */
const READ_SCRIPT = `set -eu
while read -r role dev ino from length; do
  case "$role" in
    current) file=$1 ;;
    previous) file=$2 ;;
    *) echo "unknown log role: $role" >&2; exit 3 ;;
  esac
  case "$dev$ino$from$length" in '' | *[!0-9]*) echo "bad segment: $dev $ino $from $length" >&2; exit 3 ;; esac
  exec 3<"$file" || exit ${READ_CHANGED_EXIT}
  id=$(stat -L -c '%d %i' /dev/fd/3)
  [ "$id" = "$dev $ino" ] || exit ${READ_CHANGED_EXIT}
  # Read as root: the file itself, not a symlink in its place.
  [ "$(stat -c '%d %i' -- "$file")" = "$id" ] || exit ${READ_CHANGED_EXIT}
  dd bs=1M iflag=skip_bytes,count_bytes skip="$from" count="$length" status=none <&3
  exec 3<&-
done
`;

/**
 * The revocation proof, one poll: prints the generation the running nginx serves (line 1) and
 * which of the workers from before the reload still accept connections (line 2). A worker that
 * handled the reload is titled "worker process is shutting down": it closed its listening
 * sockets and idle keep-alive connections in the same step (ngx_worker_process_cycle), so new
 * requests only reach workers with the new map.
 *   $1 pid file, then the generation command; stdin: the old workers' pids on one line.
 */
const PROOF_SCRIPT = `set -u
master=$(cat -- "$1" 2>/dev/null || echo none)
read -r old || true
case "$old" in *[![:digit:][:space:]]*) echo "bad worker list: $old" >&2; exit 3 ;; esac
shift
gen=$("$@" 2>/dev/null) || gen=
echo "$gen"
left=
for p in $old; do
  line=$(ps -o ppid=,args= -p "$p" 2>/dev/null) || continue
  # shellcheck disable=SC2086 # split on purpose: ppid and the title's words
  set -- $line
  [ "$1" = "$master" ] || continue
  shift
  [ "$*" = 'nginx: worker process' ] && left="$left $p"
done
echo "$left"
`;

/** Runs the site's own command (the generation, test and dump commands of the configuration) as root. */
const COMMAND_SCRIPT = 'exec "$@"\n';

export const PROXY_PROGRAMS = {
  apply: hostProgram('rac-proxy-apply', APPLY_SCRIPT),
  readMap: hostProgram('rac-proxy-map', READ_MAP_SCRIPT),
  collect: hostProgram('rac-proxy-collect', COLLECT_SCRIPT),
  read: hostProgram('rac-proxy-read', READ_SCRIPT),
  proof: hostProgram('rac-proxy-proof', PROOF_SCRIPT),
  command: hostProgram('rac-proxy-command', COMMAND_SCRIPT),
} as const;

/** The log the access log is rotated to. */
export function rotatedLogOf(proxy: ProxyConfig): string {
  return proxy.rotated_log ?? `${proxy.access_log}.1`;
}

/** Every call rac makes on a proxy, its arguments fixed by `proxy` (the sudoers rules are made from these). */
export function proxyCalls(proxy: ProxyConfig) {
  const rotatedLog = rotatedLogOf(proxy);
  const dump = dumpCommandOf(proxy.test_command);
  return {
    apply: hostCall(
      PROXY_PROGRAMS.apply,
      proxy.allow_map,
      proxy.map_hash_conf ?? '-',
      String(proxy.map_hash_bucket_size),
      proxy.pid_file,
      String(proxy.test_command.length),
      ...proxy.test_command,
      ...proxy.reload_command,
    ),
    readMap: hostCall(PROXY_PROGRAMS.readMap, proxy.allow_map),
    collect: hostCall(
      PROXY_PROGRAMS.collect,
      proxy.access_log,
      rotatedLog,
      proxy.allow_map,
      String(proxy.max_read_bytes),
    ),
    read: hostCall(PROXY_PROGRAMS.read, proxy.access_log, rotatedLog),
    proof: hostCall(PROXY_PROGRAMS.proof, proxy.pid_file, ...proxy.generation_command),
    generation: hostCall(PROXY_PROGRAMS.command, ...proxy.generation_command),
    test: hostCall(PROXY_PROGRAMS.command, ...proxy.test_command),
    ...(dump === null ? {} : { dump: hostCall(PROXY_PROGRAMS.command, ...dump) }),
  } satisfies Record<string, HostCall>;
}
