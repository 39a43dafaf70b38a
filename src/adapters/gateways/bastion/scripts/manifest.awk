# Validates the manifest line by line (the same rules as renderAccountManifest) and splits it.
# A key line is exactly one of the two forms rac writes: plain (login: shell) or with the
# jump-only options of rac (login: jump-only); any other option, from anywhere, is refused.
BEGIN { FS = "\t"; n = 0; bad = "" }
function refuse(msg) { if (bad == "") bad = "manifest line " NR ": " msg }
function okuid(u) { return u ~ /^[a-z_][a-z0-9._-]*$/ && length(u) <= 32 }
function okkey(k, u,   at) {
  if (k !~ /^(restrict,port-forwarding,command="\/bin\/false" )?(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+\/]+=* rac:[a-z0-9._-]+$/) return 0
  at = index(k, " rac:")
  return substr(k, at + 5) == u
}
NR == 1 { if ($0 != "rac-bastion-manifest 1") refuse("not a rac bastion manifest, version 1"); next }
ended { refuse("data after the end line"); next }
$1 == "account" && NF == 3 {
  if (!okuid($2)) refuse("invalid account name")
  else if ($2 in state) refuse("account listed twice")
  else if ($3 != "present" && $3 != "locked") refuse("invalid state")
  else { state[$2] = $3; order[++n] = $2; nkeys[$2] = 0 }
  next
}
$1 == "key" && NF == 3 {
  if (!($2 in state)) refuse("key before its account")
  else if (state[$2] != "present") refuse("key for a locked account")
  else if (!okkey($3, $2)) refuse("invalid key line")
  else keys[$2, ++nkeys[$2]] = $3
  next
}
$1 == "end" && NF == 2 { if ($2 != n "") refuse("account count does not match"); ended = 1; next }
{ refuse("unexpected line") }
END {
  if (bad == "" && !ended) bad = "the manifest is truncated (no end line)"
  if (bad != "") { print bad > errf; exit 1 }
  for (i = 1; i <= n; i++) {
    u = order[i]
    print u "\t" state[u] "\t" nkeys[u]
    f = dir "/" u
    printf "" > f
    for (k = 1; k <= nkeys[u]; k++) print keys[u, k] > f
    close(f)
  }
}
