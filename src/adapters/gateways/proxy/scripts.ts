/**
 * The proxy driver's remote scripts. Static text: every datum is an argv element ($1, $2, …) or
 * stdin, never interpolated. Run as `sh -c SCRIPT <name> args…`.
 */

/** Exit codes of APPLY_SCRIPT the driver tells apart. */
export const APPLY_EXIT = { testFailed: 10, reloadFailed: 11 } as const;

/**
 * Puts a new allow map in place and reloads nginx, or leaves the old one:
 *   $1 map path, $2 sizing include path or '', $3 map_hash_max_size, $4 map_hash_bucket_size,
 *   $5 nginx's pid file, $6 how many of the remaining words are the test command; the rest is
 *   the reload command.
 * The map comes on stdin, goes to a temp file in the map's directory, and is renamed over the
 * map (atomic). The old map is kept as a hard link until `nginx -t` passed with the new one; if it
 * fails the old map is renamed back and nothing is reloaded. Before the reload it prints the
 * master's current workers (`workers <pid>…`): the proof waits until none of them accepts.
 */
export const APPLY_SCRIPT = `set -eu
map=$1 hashconf=$2 hashmax=$3 bucket=$4 pidfile=$5 ntest=$6
shift 6
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
export const READ_MAP_SCRIPT = `set -eu
[ -e "$1" ] || exit 0
exec cat -- "$1"
`;

/**
 * One collection round trip: the host's clock in ms (the active window is measured on the
 * proxy's clock, so skew between rac and the proxy does not matter); one `stat` line
 * "name dev inode size mtime" per file that exists — the log (as /dev/fd/3, the descriptor the
 * bytes are read from), the rotated log, the map — then "."; then, only when the log is still
 * the file of the cursor ($4 dev, $5 inode) and has not shrunk below $6, its bytes from $6, at
 * most $7. Which bytes to take is still decided by the core (planLogRead): the driver uses these
 * bytes only when the plan is exactly that read, else it fetches the plan with READ_SCRIPT.
 *   $1 log, $2 rotated log, $3 map, $4 dev, $5 inode, $6 offset, $7 max bytes
 */
export const COLLECT_SCRIPT = `now=$(date +%s%N)
echo "\${now%??????}"
log=$1 rot=$2 map=$3 dev=$4 ino=$5 off=$6 max=$7
fd=
if [ -r "$log" ] && exec 3<"$log"; then fd=/dev/fd/3; fi
stats=$(stat -L -c '%n %d %i %s %Y' -- $fd "$rot" "$map" 2>/dev/null)
printf '%s\\n.\\n' "$stats"
nl='
'
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
 * Prints exactly the planned bytes, segment after segment: groups of 5 arguments
 * (path dev inode from length). Each file is opened once and checked to be the planned inode
 * through its descriptor before anything is read, so a rotation in between cannot mix files.
 * `dd` seeks to `from`: never reads the file from its start.
 */
export const READ_SCRIPT = `set -eu
while [ "$#" -ge 5 ]; do
  exec 3<"$1" || exit ${READ_CHANGED_EXIT}
  id=$(stat -L -c '%d %i' /dev/fd/3)
  [ "$id" = "$2 $3" ] || exit ${READ_CHANGED_EXIT}
  dd bs=1M iflag=skip_bytes,count_bytes skip="$4" count="$5" status=none <&3
  exec 3<&-
  shift 5
done
`;

/**
 * The revocation proof, one poll: prints the generation the running nginx serves (line 1) and
 * which of the workers from before the reload still accept connections (line 2). A worker that
 * handled the reload is titled "worker process is shutting down": it closed its listening
 * sockets and idle keep-alive connections in the same step (ngx_worker_process_cycle), so new
 * requests only reach workers with the new map.
 *   $1 pid file, $2 the old workers' pids (digits and spaces), then the generation command.
 */
export const PROOF_SCRIPT = `set -u
master=$(cat -- "$1" 2>/dev/null || echo none)
old=$2
shift 2
gen=$("$@" 2>/dev/null) || gen=
echo "$gen"
left=
for p in $old; do
  line=$(ps -o ppid=,args= -p "$p" 2>/dev/null) || continue
  set -- $line
  [ "$1" = "$master" ] || continue
  shift
  [ "$*" = 'nginx: worker process' ] && left="$left $p"
done
echo "$left"
`;
