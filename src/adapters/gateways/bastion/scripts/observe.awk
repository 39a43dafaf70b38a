# One `account` record per member, then its `key` lines and `problem` records. Key lines come from
# the copies read as the user (dir/<uid>); a file that could not be read as the user is in unreadf.
# Only lines that are keys, plain or with the jump-only options of rac, are ever printed: anything else
# is counted, never echoed.
BEGIN { FS = ":" }
FILENAME == spf { spw[$1] = $2; sexp[$1] = $8; next }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = ":"; next }
FILENAME == unreadf { unread[$0] = 1; next }
{
  u = $1; h = $6; pw = spw[u]; ex = sexp[u]
  locked = (substr(pw, 1, 1) == "!" || (ex != "" && ex + 0 <= today)) ? "locked" : "active"
  print "account\t" u "\t" locked
  if (!safehome(h)) { print "problem\t" u "\thome directory is not a plain absolute path"; next }
  p = linkproblem(h)
  if (p != "") { print "problem\t" u "\t" p; next }
  k = h "/.ssh/authorized_keys"
  if (!(k in ltype)) next
  if ($3 + 0 < umin) { print "problem\t" u "\tsystem account (uid " $3 "); authorized_keys not read"; next }
  if (lown[k] != $3) print "problem\t" u "\tauthorized_keys is not owned by the user"
  if (u in unread) { print "problem\t" u "\tauthorized_keys could not be read as the user (a symlink, or not readable by the user)"; next }
  f = dir "/" u
  n = 0; bytes = 0
  while ((rc = (getline line < f)) > 0) { lines[++n] = line; bytes += length(line) + 1 }
  if (rc == 0) close(f)
  if (rc < 0) { print "problem\t" u "\tauthorized_keys could not be read"; next }
  if (bytes > 1048576) { print "problem\t" u "\tauthorized_keys is larger than 1 MiB; not read"; next }
  bad = 0
  for (i = 1; i <= n; i++) {
    line = lines[i]
    gsub(/\t|\r/, " ", line)
    if (line ~ /^[ ]*(#|$)/) continue
    if (line ~ /^(restrict,port-forwarding,command="\/bin\/false" )?(ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]* [A-Za-z0-9+\/]+=*( |$)/) print "key\t" u "\t" line
    else bad++
  }
  if (bad > 0) print "problem\t" u "\t" bad " authorized_keys lines carry options or are not keys"
}
