# Decides per account from the gathered files only: authorized_keys as read by its user (havedir;
# the uids whose file could not be read so are in unreadf), never the file itself. One plan
# line per account: uid state class flags uidnum gidnum home nkeys detail, with a dash for empty
# fields, since tab is IFS whitespace.
BEGIN { FS = "\t" }
FILENAME == grpf { split($0, f, ":"); ggid = f[3]; m = split(f[4], mem, ","); for (i = 1; i <= m; i++) member[mem[i]] = 1; next }
FILENAME == pwf { split($0, f, ":"); puid[f[1]] = f[3]; pgid[f[1]] = f[4]; phome[f[1]] = f[6]; next }
FILENAME == spf { split($0, f, ":"); spw[f[1]] = f[2]; sexp[f[1]] = f[8]; next }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = "\t"; next }
FILENAME == newf { created[$0] = 1; next }
FILENAME == unreadf { unread[$0] = 1; next }
function out(u, st, cls, flags, un, gn, h, nk, detail) {
  print u "\t" st "\t" cls "\t" (flags == "" ? "-" : flags) "\t" un "\t" gn "\t" h "\t" nk "\t" (detail == "" ? "-" : detail)
}
function add(list, flag) { return list == "" ? flag : list "," flag }
function slurp(f,   line, text, rc) {
  text = ""
  while ((rc = (getline line < f)) > 0) text = text line "\n"
  if (rc == 0) close(f)
  return text
}
{
  u = $1; st = $2; nk = $3
  if (!(u in puid)) {
    h = "/home/" u
    if (st == "locked") out(u, st, "absent", "", "-", "-", h, nk, "no such account")
    else if (h in ltype) out(u, st, "error", "", "-", "-", h, nk, h " already exists; remove it or hand it over by hand")
    else out(u, st, "error", "", "-", "-", h, nk, "create-failed")
    next
  }
  un = puid[u]; gn = pgid[u]; h = phome[u]
  if (!((ggid != "" && gn == ggid) || (u in member))) { out(u, st, "conflict", "", un, gn, "-", nk, "account exists and is not in group rac-bastion; not touched"); next }
  if (un + 0 < umin) { out(u, st, "conflict", "", un, gn, "-", nk, "system account (uid " un "); not touched"); next }
  if (!safehome(h)) { out(u, st, "conflict", "", un, gn, "-", nk, "home directory is not a plain absolute path; not touched"); next }
  pw = spw[u]; ex = sexp[u]
  problem = linkproblem(h)
  s = h "/.ssh"; k = s "/authorized_keys"
  flags = (u in created) ? "new" : ""
  if (st == "present") {
    if (problem != "") { out(u, st, "error", "", un, gn, h, nk, "refused: " problem); next }
    if (pw == "" || substr(pw, 1, 1) == "!" || ex != "") flags = add(flags, "unlock")
    if (!(h in ltype)) flags = add(flags, "mkhome")
    fixhome = (h in ltype) && writable(h)
    fixssh = (s in ltype) && (lperm[s] != "drwx------" || lown[s] != un)
    want = slurp(dir "/" u)
    if (k in ltype) same = lown[k] == un && lperm[k] == "-rw-------" && lsize[k] + 0 <= 1048576 && !(u in unread) && slurp(havedir "/" u) == want
    else same = want == ""
    if (fixhome) flags = add(flags, "fixhome")
    if (fixssh) flags = add(flags, "fixssh")
    if (fixhome || fixssh || !same) flags = add(flags, "keys")
  } else {
    if (substr(pw, 1, 1) != "!" || ex == "" || ex + 0 > today) flags = add(flags, "lock")
    if (k in ltype) flags = add(flags, problem == "" ? "rmkeys" : "rmkeys-refused")
  }
  out(u, st, "manage", flags, un, gn, h, nk, problem)
}
