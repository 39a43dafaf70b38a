# Members of rac-bastion (primary or supplementary group) from getent passwd, each once.
BEGIN { FS = ":" }
FILENAME == grpf { gid = $3; m = split($4, mem, ","); for (i = 1; i <= m; i++) member[mem[i]] = 1; next }
($4 == gid || ($1 in member)) && !($1 in seen) && $1 ~ /^[a-z_][a-z0-9._-]*$/ && length($1) <= 32 { seen[$1] = 1; print }
