# newusers input for present accounts that do not exist and whose home path is free.
BEGIN { FS = ":" }
FILENAME == pwf { known[$1] = 1; next }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = ":"; next }
{ split($0, a, "\t"); u = a[1]; if (a[2] == "present" && !(u in known) && !(("/home/" u) in ltype)) print u ":::rac-bastion:rac:/home/" u ":/bin/bash" }
