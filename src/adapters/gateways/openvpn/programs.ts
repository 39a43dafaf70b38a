import type { OpenVpnConfig } from '../../../config/schema.ts';
import { type HostCall, hostCall, hostProgram } from '../../host-programs/program.ts';

/**
 * Swaps the client-config-dir in one step: the new set is unpacked into a fresh directory next
 * to it, then the ccd symlink is renamed onto it (rename is atomic), so the server never reads a
 * half-written set. Static text: the only data is the tar on stdin and the path in $1.
 */
const SWAP_SCRIPT = `set -eu
ccd=$1
case "$ccd" in /*) ;; *) echo "ccd_dir must be absolute: $ccd" >&2; exit 3 ;; esac
[ -L "$ccd" ] || { echo "ccd_dir $ccd must be a symlink (rac swaps it atomically)" >&2; exit 3; }
base=$(dirname "$ccd")
gen=$(mktemp -d "$base/.rac-ccd.XXXXXXXX")
# Until the swap, a failure on any path (a cut stream, a full disk, a signal) removes the staging
# directory and the half-made link; after it, the new set is live and is kept.
swapped=
cleanup() { [ -n "$swapped" ] || rm -rf -- "$gen" "$ccd.rac-new"; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# The set stays root's alone (mktemp's 0700) until it is known to hold plain files only: tar as
# root makes whatever the stream says, device nodes included, and a link or a directory could
# point OpenVPN (root) elsewhere.
tar -xf - -C "$gen" --no-same-owner --no-same-permissions
odd=$(find "$gen" -mindepth 1 ! -type f -print -quit)
[ -z "$odd" ] || { echo "the new set holds $odd, which is not a plain file: refused" >&2; exit 3; }
chmod 0755 "$gen"
old=$(readlink "$ccd")
rm -f -- "$ccd.rac-new"
ln -s "$gen" "$ccd.rac-new"
mv -T "$ccd.rac-new" "$ccd"
swapped=1
# Only a set rac made beside the link: a name under base with no further path in it.
case "$old" in "$base"/.rac-ccd.*) case "\${old#"$base"/}" in */*) ;; *) rm -rf -- "$old" ;; esac ;; esac
`;

/** The whole client-config-dir as a tar on stdout. $1 the ccd symlink. */
const READ_SCRIPT = 'exec tar -C "$1/" -cf - .\n';

/** Prints what ccd_dir is: `symlink <target>`, `dangling <target>`, `directory`, `other` or `missing`. $1 the path. */
const KIND_SCRIPT = `if [ -L "$1" ]; then
  if [ -d "$1/" ]; then echo "symlink $(readlink -- "$1")"; else echo "dangling $(readlink -- "$1")"; fi
elif [ -d "$1" ]; then echo directory
elif [ -e "$1" ]; then echo other
else echo missing; fi
`;

/**
 * Prints the server's config file for rac doctor, which reads the options rac relies on: every
 * line but inline blocks (<key>, <tls-crypt>, … hold secrets rac has no business reading). $1 the file.
 */
const CONFIG_SCRIPT = `[ -f "$1" ] || { echo "$1 is not a file" >&2; exit 3; }
exec awk '/^[[:space:]]*<[A-Za-z0-9-]+>[[:space:]]*$/ { inline = 1; next }
  /^[[:space:]]*<\\/[A-Za-z0-9-]+>[[:space:]]*$/ { inline = 0; next }
  !inline' "$1"
`;

export const OPENVPN_PROGRAMS = {
  ccdRead: hostProgram('rac-openvpn-ccd-read', READ_SCRIPT),
  ccdSwap: hostProgram('rac-openvpn-ccd-swap', SWAP_SCRIPT),
  ccdKind: hostProgram('rac-openvpn-ccd-kind', KIND_SCRIPT),
  config: hostProgram('rac-openvpn-config', CONFIG_SCRIPT),
} as const;

/** Every call rac makes on an OpenVPN gateway, its arguments fixed by `openvpn` (sudoers are made from these). */
export function openVpnCalls(openvpn: Pick<OpenVpnConfig, 'ccd_dir' | 'config_file'>) {
  return {
    ccdRead: hostCall(OPENVPN_PROGRAMS.ccdRead, openvpn.ccd_dir),
    ccdSwap: hostCall(OPENVPN_PROGRAMS.ccdSwap, openvpn.ccd_dir),
    ccdKind: hostCall(OPENVPN_PROGRAMS.ccdKind, openvpn.ccd_dir),
    ...(openvpn.config_file === undefined ? {} : { config: hostCall(OPENVPN_PROGRAMS.config, openvpn.config_file) }),
  } satisfies Record<string, HostCall>;
}
