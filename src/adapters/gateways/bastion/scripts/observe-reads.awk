# Which authorized_keys files to read, and as whom: one `uid uidnum gidnum home` line per member
# whose home is a plain path, whose ~/.ssh and authorized_keys ls saw as a directory and a regular
# file, and who is no system account. Inputs: ls output (lsf), then the passwd lines of the members.
BEGIN { FS = ":" }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = ":"; next }
safehome($6) && linkproblem($6) == "" && (($6 "/.ssh/authorized_keys") in ltype) && $3 + 0 >= umin { print $1 "\t" $3 "\t" $4 "\t" $6 }
