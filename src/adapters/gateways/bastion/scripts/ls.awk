# Reads `ls -ldn` output: type, mode and owner by path (paths rac looks at never contain spaces).
function lsline(   p) {
  p = ($(NF - 1) == "->") ? $(NF - 2) : $NF
  ltype[p] = substr($1, 1, 1); lperm[p] = substr($1, 1, 10); lown[p] = $3; lsize[p] = $5
}
function safehome(h) { return h ~ /^\/[A-Za-z0-9._\/-]+$/ && h !~ /\.\./ && h != "/" }
function writable(p) { return substr(lperm[p], 6, 1) == "w" || substr(lperm[p], 9, 1) == "w" }
function linkproblem(h,   s, k) {
  # Test with "in" before reading: reading ltype[x] would create the entry.
  s = h "/.ssh"; k = s "/authorized_keys"
  if (h in ltype) { if (ltype[h] == "l") return "home " h " is a symlink"; if (ltype[h] != "d") return "home " h " is not a directory" }
  if (s in ltype) { if (ltype[s] == "l") return "~/.ssh is a symlink"; if (ltype[s] != "d") return "~/.ssh is not a directory" }
  if (k in ltype) { if (ltype[k] == "l") return "~/.ssh/authorized_keys is a symlink"; if (ltype[k] != "-") return "~/.ssh/authorized_keys is not a regular file" }
  return ""
}
