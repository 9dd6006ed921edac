#!/bin/sh
# graft's dead-man's switch on a session VM, run as root:
#   graft-deadman arm [UNIX_SECONDS]
# records the new end of the session (when given) in ~/.graft/expires-at of the admin account
# whose ~/.graft/bin holds this script, then schedules a power-off for that moment with
# shutdown(8), replacing any earlier schedule; a moment already past powers off now.
# graft-boot.sh arms it at first boot, cloud-init's per-boot hook at every boot, and
# `graft extend` over SSH. GRAFT_SHUTDOWN (from ~/.graft/deadman.env) replaces shutdown(8)
# in tests.
set -eu
die() { echo "graft-deadman: $*" >&2; exit 2; }
state=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$state/deadman.env" ]; then
  # shellcheck disable=SC1091
  . "$state/deadman.env"
fi
shutdown_cmd=${GRAFT_SHUTDOWN:-shutdown}

[ "${1:-}" = arm ] || die "usage: graft-deadman arm [UNIX_SECONDS]"
if [ $# -ge 2 ]; then
  case "$2" in ''|*[!0-9]*) die "not Unix seconds: '$2'" ;; esac
  # A temporary file of its own: callers may overlap (emulated VMs of a session share one home).
  printf '%s\n' "$2" > "$state/expires-at.tmp.$$"
  mv -f "$state/expires-at.tmp.$$" "$state/expires-at"
fi
[ -f "$state/expires-at" ] || die "no expiry recorded in $state/expires-at"
at=$(cat "$state/expires-at")
now=$(date +%s)
# shutdown(8) counts in whole minutes: round up, so the VM never stops before its time.
minutes=$(( (at - now + 59) / 60 ))
if [ "$minutes" -le 0 ]; then
  exec "$shutdown_cmd" -P now "graft: this session's time is up"
fi
"$shutdown_cmd" -P "+$minutes" "graft: this session ends in $minutes minute(s); graft extend moves it"
