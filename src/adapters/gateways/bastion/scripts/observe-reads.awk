# Which authorized_keys files to read, and as whom: one `uid uidnum gidnum home` line per account
# whose home is a plain path, whose ~/.ssh and authorized_keys ls saw as a directory and a regular
# file, and which is no system account. Inputs: ls output (lsf), then passwd lines. Optionally
# (accounts.sh) the group line (grpf) and the manifest accounts (onlyf): then only members of the
# group that the manifest lists as present.
BEGIN { FS = ":" }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = ":"; next }
FILENAME == grpf { ggid = $3; m = split($4, mem, ","); for (i = 1; i <= m; i++) member[mem[i]] = 1; next }
FILENAME == onlyf { split($0, a, "\t"); if (a[2] == "present") only[a[1]] = 1; next }
onlyf != "" && !($1 in only) { next }
grpf != "" && !((ggid != "" && $4 == ggid) || ($1 in member)) { next }
safehome($6) && linkproblem($6) == "" && (($6 "/.ssh/authorized_keys") in ltype) && $3 + 0 >= umin { print $1 "\t" $3 "\t" $4 "\t" $6 }
