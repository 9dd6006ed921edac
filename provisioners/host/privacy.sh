# graft's process privacy: the part of the host tool (agent-account.sh, where graft includes this
# file before uploading it) that hides processes from the accounts that do not own them, asked for
# once per host at its first agent when the host's settings ask for it (cloud VMs always; local
# and inventory hosts when told, since it changes the whole machine).
#
# /proc is remounted with hidepid=2: an agent sees only its own processes, so another agent's
# command line and open files are not there to read. Root sees everything, and graft's host-side
# work that looks at other accounts' processes runs as root; no group is exempted. The mount
# option outlives graft's session (it is a hardening, and other sessions may rely on it):
# `mount -o remount,hidepid=0 /proc` undoes it.

# Prints the current privacy of /proc: hidepid (2 or invisible) or off.
proc_privacy() {
  options=$(awk '$2 == "/proc" && $3 == "proc" { print $4; exit }' /proc/mounts)
  case ",$options," in
    *,hidepid=2,*|*,hidepid=invisible,*) echo hidepid ;;
    *) echo off ;;
  esac
}

# Remounts /proc with hidepid=2, unless it already hides.
proc_privacy_apply() {
  [ "$(proc_privacy)" = hidepid ] && return 0
  mount -o remount,hidepid=2 /proc || die "cannot remount /proc with hidepid=2 (is this a container without CAP_SYS_ADMIN?)"
  [ "$(proc_privacy)" = hidepid ] || die "/proc was remounted but still shows every process"
}
