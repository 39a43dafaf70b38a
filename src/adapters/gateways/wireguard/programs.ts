import type { WireGuardConfig } from '../../../config/schema.ts';
import { type HostCall, hostCall, hostProgram } from '../../host-programs/program.ts';

/**
 * Loads a whole peer set in one step. The set arrives on stdin and goes to a temp file next to
 * the peer file; `wg syncconf` then brings the live interface to exactly it (peers added, changed
 * and removed; live sessions of unchanged peers untouched), and only then is the temp file
 * renamed onto the peer file, so the file never names a peer set the interface refused.
 * `wg syncconf` also resets what its input leaves out — the interface's private key and listen
 * port included — so the input starts with the live interface's own section, read here with
 * `wg showconf` into a shell variable: the gateway's private key never leaves the gateway and
 * never touches its disk. Static text: the data is stdin, the interface in $1, the file in $2.
 */
const APPLY_SCRIPT = `set -eu
umask 077
iface=$1
file=$2
case "$file" in /*) ;; *) echo "peers_file must be an absolute path: $file" >&2; exit 3 ;; esac
if [ -L "$file" ]; then echo "peers_file $file is a symlink: refused" >&2; exit 3; fi
dir=$(dirname -- "$file")
[ -d "$dir" ] || { echo "peers_file directory $dir does not exist" >&2; exit 3; }
conf=$(wg showconf "$iface")
tmp=$(mktemp "$dir/.rac-peers.XXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
# Peers only: a line before the first [Peer] would join the interface's own section, and an
# [Interface] section would re-key the gateway or move its port.
if awk 'BEGIN { peer = 0 }
  /^[[:space:]]*(#|$)/ { next }
  tolower($0) ~ /^[[:space:]]*\\[interface\\]/ { bad = 1; exit }
  !peer && $0 !~ /^[[:space:]]*\\[[Pp]eer\\][[:space:]]*$/ { bad = 1; exit }
  { peer = 1 }
  END { exit bad ? 0 : 1 }' "$tmp"; then
  echo "the peer set holds something besides [Peer] sections: refused" >&2
  exit 3
fi
{ printf '%s\\n' "$conf" | sed -n '/^\\[Peer\\]/q;p'; cat -- "$tmp"; } | wg syncconf "$iface" /dev/stdin
mv -f -- "$tmp" "$file"
trap - EXIT
`;

/**
 * The gateway's clock with the dump, so "a handshake in the last 180 s" is judged by one clock.
 * The dump's first line starts with the interface's private key: it never leaves the gateway
 * (the field is replaced, so the line keeps its four fields).
 */
const SHOW_SCRIPT = `date +%s
dump=$(wg show "$1" dump) || exit
printf '%s\\n' "$dump" | awk 'BEGIN { FS = OFS = "\\t" } NR == 1 { $1 = "(hidden)" } { print }'`;
const READ_PEERS_SCRIPT = '[ ! -e "$1" ] || exec cat -- "$1"';

/** Removes peers from the live interface in one `wg set`; their public keys come on stdin, one per line. */
const REMOVE_SCRIPT = `set -eu
iface=$1
shift
while read -r key; do
  case "$key" in
    '') continue ;;
    *[!A-Za-z0-9+/=]*) echo "not a WireGuard public key: $key" >&2; exit 3 ;;
  esac
  set -- "$@" peer "$key" remove
done
[ "$#" -eq 0 ] || exec wg set "$iface" "$@"
`;

/** The interface's public key (probe and rac doctor). */
const PUBLIC_KEY_SCRIPT = 'exec wg show "$1" public-key\n';

export const WIREGUARD_PROGRAMS = {
  apply: hostProgram('rac-wg-apply', APPLY_SCRIPT),
  show: hostProgram('rac-wg-show', `${SHOW_SCRIPT}\n`),
  peers: hostProgram('rac-wg-peers', `${READ_PEERS_SCRIPT}\n`),
  remove: hostProgram('rac-wg-remove', REMOVE_SCRIPT),
  publicKey: hostProgram('rac-wg-public-key', PUBLIC_KEY_SCRIPT),
} as const;

/** Every call rac makes on a WireGuard gateway, its arguments fixed by `wireguard` (sudoers are made from these). */
export function wireGuardCalls(wireguard: Pick<WireGuardConfig, 'interface' | 'peers_file'>) {
  const iface = wireguard.interface;
  return {
    apply: hostCall(WIREGUARD_PROGRAMS.apply, iface, wireguard.peers_file),
    show: hostCall(WIREGUARD_PROGRAMS.show, iface),
    peers: hostCall(WIREGUARD_PROGRAMS.peers, wireguard.peers_file),
    remove: hostCall(WIREGUARD_PROGRAMS.remove, iface),
    publicKey: hostCall(WIREGUARD_PROGRAMS.publicKey, iface),
  } satisfies Record<string, HostCall>;
}
