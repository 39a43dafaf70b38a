# What to look at with ls: the home of every known account, ~/.ssh and authorized_keys; the home of a new account.
BEGIN { FS = ":" }
FILENAME == pwf { if (safehome($6)) print $6 "\n" $6 "/.ssh\n" $6 "/.ssh/authorized_keys"; known[$1] = 1; next }
{ split($0, a, "\t"); if (!(a[1] in known) && a[2] == "present") print "/home/" a[1] }
