#!/bin/sh
# graft's host-side agent account tool. Uploaded to the admin login's ~/.graft/bin by graft and
# run over SSH: as root (through sudo) for per-agent Unix accounts, or as the login user for
# agents that share it. File contents (keys, certificates, secrets) arrive on standard input,
# never on a command line, so they never show in a process list.
#
#   agent-account.sh create ACCOUNT                 new locked-down account (never reusing a uid); prints its home
#   agent-account.sh provision ACCOUNT [EGRESS [LIMITS]]  create + network rules (egress.sh) + cgroups (limits.sh) + authorize (stdin line 1) + files (further lines "PATH BASE64"); prints its home
#   agent-account.sh put ACCOUNT PATH MODE          stdin -> ~ACCOUNT/PATH, written AS the account
#   agent-account.sh as-agent ACCOUNT               run the commands on stdin AS the account, from its home
#   agent-account.sh authorize ACCOUNT              stdin -> /etc/graft/authorized_keys/ACCOUNT (root's, not the agent's)
#   agent-account.sh remove ACCOUNT                 kill its processes, drop its network rules and cgroups, delete account, home, key file and its files in /tmp
#   agent-account.sh host-facts [hidepid]           the mechanism limits would use here (cgroup-v1, cgroup-v2 (not used yet) or none), its CPUs, memory bytes
#                                                   and process privacy; with hidepid, /proc hides other accounts' processes first (privacy.sh)
#   agent-account.sh sshd-keys                      make the sshd serving graft read agents' keys from /etc/graft/authorized_keys (sshd-keys.sh, included below)
#   agent-account.sh shared-create DIR              a private directory under the login account
#   agent-account.sh shared-put DIR PATH MODE       stdin -> DIR/PATH
#   agent-account.sh shared-authorize KEYS MARKER   stdin (one key line) replaces MARKER's line in KEYS
#   agent-account.sh shared-remove DIR KEYS MARKER  kill processes tagged MARKER, drop its key line and DIR
#   agent-account.sh cache-dir SESSION OWNER        /var/lib/graft/SESSION, owned by OWNER, readable by agents
#   agent-account.sh cache-remove SESSION           remove it
#   agent-account.sh pool-*                         the warm account pool (account-pool.sh, included below)
#
# Commands that queue for graft's lock on /etc/passwd, or (pool-claim, pool-revoke) for its lock on
# the network rules, print "graft-host: started" once they hold it: the controller's deadline for
# them counts from that line, not from when they were asked for.
set -eu
umask 077

die() { echo "agent-account: $*" >&2; exit 2; }

check_account() {
  case "$1" in
    graft-[a-z0-9]*) ;;
    *) die "refusing account name '$1': graft only manages graft-* accounts" ;;
  esac
  case "$1" in *[!a-z0-9-]*) die "refusing account name '$1'" ;; esac
}

check_relpath() {
  case "$1" in
    /*|*..*|'') die "refusing path '$1'" ;;
  esac
}

# Sets uid, gid, comment and home from the account's passwd entry (one lookup); false when there
# is none.
account_fields() {
  entry=$(getent passwd "$1") || return 1
  IFS=: read -r _ _ uid gid comment home _ <<EOF
$entry
EOF
}

# Runs a command as the account account_fields last read (its uid, gid and groups), with its
# home as HOME.
as_account() { HOME=$home setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"; }

write_file() { # target mode: stdin -> target, replaced atomically
  [ -d "${1%/*}" ] || mkdir -p "${1%/*}"
  tmp="$1.tmp.$$"
  cat > "$tmp"
  chmod "$2" "$tmp"
  mv -f "$tmp" "$1"
}

# Serialises graft's own changes to /etc/passwd (and the uid high-water mark): agents created
# and removed in parallel queue for it instead of polling useradd's lock.
accounts_lock=/var/lib/graft/accounts.lock

# Takes that lock (fd 7, held until released or exit) and says the work starts now. Closing
# the descriptor (exec 7>&-) releases it without a process; nothing started while it is held
# outlives the holder's use of it.
take_accounts_lock() {
  [ -d /var/lib/graft ] || { mkdir -p /var/lib/graft && chmod 0755 /var/lib/graft; }
  exec 7>>"$accounts_lock"
  flock 7
  echo "graft-host: started"
}

# A pool account's home (/home/graft-SESSION-UID) left by a deletion that never finished, which
# still holds the files of that uid.
uid_home_left() { for h in /home/graft-*-"$1"; do [ -e "$h" ] && return 0; done; return 1; }

# The next uid, recorded before it is used: uids are never reused, so files a removed agent left
# where others can see them never become a later agent's (nor, should the record be lost, the
# files a home left behind holds). Call with the accounts lock held.
next_uid() {
  last=$(cat /var/lib/graft/last-uid 2>/dev/null || echo 70000)
  next=$((last + 1))
  while getent passwd "$next" >/dev/null || getent group "$next" >/dev/null || uid_home_left "$next"; do next=$((next + 1)); done
  echo "$next" > /var/lib/graft/last-uid
  echo "$next"
}

# add_account NAME UID COMMENT [useradd options]: one useradd, with the accounts lock held.
# useradd still takes its own lock on /etc/passwd, which other tools on the host may hold for
# a moment: then it is tried again. Prints useradd's complaint when it gives up.
add_account() {
  name=$1 id=$2 comment=$3; shift 3
  tries=0
  until err=$(useradd "$@" --shell /bin/sh --uid "$id" --user-group --comment "$comment" --password "*" -- "$name" 2>&1); do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || { printf '%s\n' "$err"; return 1; }
    sleep 0.1
  done
}

# Makes the account, or takes over one graft made before; sets uid, gid and home.
create_account() {
  # Looked up under the accounts lock, always: an earlier call for the same agent (one a killed
  # controller left running) may be inside useradd, whose passwd line appears before the home
  # does. Then the account is taken over below like any graft made before.
  take_accounts_lock
  if ! getent passwd "$1" >/dev/null; then
    next=$(next_uid)
    err=$(add_account "$1" "$next" "graft agent" --create-home) || die "could not create account $1: $err"
  fi
  exec 7>&-
  account_fields "$1" || die "account $1 vanished after useradd"
  # Only an account graft made for an agent is taken over, never someone else's.
  [ "$comment" = "graft agent" ] || die "account $1 exists and was not made by graft"
  # Locked accounts are refused by sshd without PAM; '*' allows keys, never a password.
  [ "$(getent shadow "$1" | cut -d: -f2)" = '*' ] || usermod -p '*' -- "$1"
  chmod 0700 "$home"
  as_account sh -c 'umask 077; mkdir -p "$HOME/.graft/identity" "$HOME/.graft/secrets"'
}

# Kills every process of the account account_fields last read: kill(-1) as the account reaches
# exactly the processes it may signal, its own, without scanning /proc for them.
kill_account() { as_account sh -c 'kill -KILL -1' 2>/dev/null || true; }

# Removed agents' uids whose files in world-writable directories are still to be deleted. uids
# are never reused, so what waits here is no one's meanwhile.
sweep_queue=/var/lib/graft/sweep-queue

# Deletes what removed agents left in /tmp and the like: one walk for every uid queued, however
# many agents were removed at once (each walk costs the size of /tmp). Whoever holds the lock
# sweeps for everyone; the others leave their uid to it. After unlocking, the queue is looked at
# again: a uid queued while the lock was held is swept by the holder or by the next remover.
# With "wait", waits for a sweep in progress (down, when every agent is gone).
sweep_leftovers() {
  [ -s "$sweep_queue" ] || return 0
  while [ -s "$sweep_queue" ]; do
    exec 8>>/var/lib/graft/sweep.lock
    if [ "${1:-}" = wait ]; then flock 8; else flock -n 8 || { exec 8>&-; return 0; }; fi
    if [ -s "$sweep_queue" ]; then
      mv -f "$sweep_queue" "$sweep_queue.$$"
      # shellcheck disable=SC2046 # one "-uid N -o" per line of the taken queue
      # An agent, with no group but its own, can only have made entries in directories anyone
      # may write to: others are not descended into, which keeps the walk short on a full /tmp.
      find /tmp /var/tmp /dev/shm /run/lock -xdev \( $(sed 's/.*/-uid & -o/' "$sweep_queue.$$") -false \) -prune -exec rm -rf -- {} + \
        -o -type d ! -perm -0002 -prune 2>/dev/null || true
      rm -f "$sweep_queue.$$"
    fi
    exec 8>&-
  done
}

# The key line ($2) -> /etc/graft/authorized_keys/ACCOUNT ($1): outside the agent's home and
# owned by root, so the agent cannot lift restrict, from= or expiry-time= from its own key line.
# Written with the shell's printf: a task's claim spends no process on it.
authorize_line() {
  [ -d /etc/graft/authorized_keys ] || { mkdir -p /etc/graft/authorized_keys && chmod 0755 /etc/graft /etc/graft/authorized_keys; }
  tmp="/etc/graft/authorized_keys/$1.tmp.$$"
  (umask 022 && printf '%s\n' "$2" > "$tmp") || die "cannot write the key of $1"
  mv -f "$tmp" "/etc/graft/authorized_keys/$1"
}

# Reads stdin: the key line (first line), then the agent's files ("PATH BASE64" lines), written
# as the account (account_fields read last), 0600; with them its cgroups' list (agent_cgroups,
# set by limits_apply), as ~/.graft/cgroup. A line "graft:then" (no file is named so) ends the
# files: what follows is run by the account's shell from its home, as as-agent would (its
# worktree is made in the same call as its claim).
authorize_and_write() {
  IFS= read -r key_line || die "no key line on stdin"
  authorize_line "$1" "$key_line"
  as_account sh -c '
    umask 077
    [ -z "$1" ] || printf "%s\n" "$1" > "$HOME/.graft/cgroup"
    while read -r path data; do
      [ "$path" != graft:then ] || { cd && exec sh -s; }
      case "$path" in /*|*..*|"") echo "agent-account: refusing path $path" >&2; exit 2 ;; esac
      dir=${path%/*}
      [ "$dir" = "$path" ] || [ -d "$HOME/$dir" ] || mkdir -p "$HOME/$dir"
      printf "%s" "$data" | base64 -d > "$HOME/$path"
    done' sh "${agent_cgroups:-}"
}

# graft: include sshd-keys.sh

# graft: include egress.sh

# graft: include limits.sh
# graft: include privacy.sh

# graft: include account-pool.sh

cmd=${1:-}; [ $# -gt 0 ] && shift
case "$cmd" in
  create)
    check_account "$1"
    create_account "$1"
    echo "$home"
    ;;
  provision)
    # One call makes a ready agent: its account, its key line (stdin's first line), and its
    # files (every further line "PATH BASE64", written as the account, 0600).
    check_account "$1"
    create_account "$1"
    # Its network rules hold before anyone can log in as it.
    [ -z "${2:-}" ] || egress_apply "$2"
    [ -z "${3:-}" ] || limits_apply "$3"
    authorize_and_write "$1"
    echo "$home"
    ;;
  put)
    check_account "$1"; check_relpath "$2"
    account_fields "$1" || die "no account $1"
    # Written as the agent, never as root: whatever the agent planted in its home (a symlink to
    # /etc, say) leads only where the agent itself could write anyway.
    as_account sh -c 'umask 077; mkdir -p "$(dirname "$1")" && t="$1.graft-tmp" && rm -f "$t" && cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$1"' sh "$home/$2" "$3"
    ;;
  as-agent)
    check_account "$1"
    # The account's own shell goes home and reads the commands: root neither enters its home nor
    # touches anything there, and what the commands write is the account's, as if it had logged in.
    account_fields "$1" || die "no account $1"
    as_account sh -c 'cd && exec sh -s'
    ;;
  authorize)
    check_account "$1"
    getent passwd "$1" >/dev/null || die "no account $1"
    IFS= read -r key_line || die "no key line on stdin"
    authorize_line "$1" "$key_line"
    ;;
  sshd-keys) sshd_keys ;;
  remove)
    check_account "$1"
    rm -f "/etc/graft/authorized_keys/$1"
    account_fields "$1" || exit 0
    kill_until_gone
    # Its rules, and any a remover killed half-way left; the table goes with the last agent.
    egress_sweep
    limits_sweep
    take_accounts_lock
    # No process of it is alive now; userdel would still refuse while their zombies wait for
    # their parent (PID 1 on some hosts reaps slowly), hence --force.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      userdel --force --remove -- "$1" 2>/dev/null && break
      kill_account
      sleep 0.2
    done
    exec 7>&-
    rm -rf "/var/lib/graft/claims/$1"
    getent passwd "$1" >/dev/null && die "could not remove account $1"
    ! getent group "$1" >/dev/null || groupdel "$1" 2>/dev/null || true
    # What it left where every account can write goes with it.
    echo "$uid" >> "$sweep_queue"
    sweep_leftovers
    ;;
  shared-create)
    check_relpath "${1#"$HOME"/}"
    mkdir -p "$1/.graft/identity" "$1/.graft/secrets"
    chmod 0700 "$1" "$1/.graft" "$1/.graft/identity" "$1/.graft/secrets"
    cd "$1" && pwd -P && exit 0
    ;;
  shared-put)
    check_relpath "$2"
    write_file "$1/$2" "$3"
    ;;
  shared-authorize)
    keys=$1; marker=$2
    mkdir -p "$(dirname "$keys")"; touch "$keys"
    line=$(cat)
    { grep -vF -- "$marker" "$keys" || true; printf '%s %s\n' "$line" "$marker"; } > "$keys.tmp.$$"
    chmod 0600 "$keys.tmp.$$"; mv -f "$keys.tmp.$$" "$keys"
    ;;
  shared-remove)
    dir=$1; keys=$2; marker=$3
    for env in /proc/[0-9]*/environ; do
      pid=${env#/proc/}; pid=${pid%/environ}
      if tr '\0' '\n' < "$env" 2>/dev/null | grep -qxF "GRAFT_AGENT=$marker"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    if [ -f "$keys" ]; then
      { grep -vF -- "$marker" "$keys" || true; } > "$keys.tmp.$$"; chmod 0600 "$keys.tmp.$$"; mv -f "$keys.tmp.$$" "$keys"
    fi
    rm -rf -- "$dir"
    ;;
  cache-dir)
    case "$1" in *[!a-z0-9]*|'') die "refusing session id '$1'" ;; esac
    getent passwd "$2" >/dev/null || die "no account $2"
    mkdir -p /var/lib/graft
    chmod 0755 /var/lib/graft
    # Hosts' first agents ask at once (and emulated VMs share a machine): whoever loses the race
    # to mkdir finds the directory there.
    [ -d "/var/lib/graft/$1" ] || mkdir -m 0755 "/var/lib/graft/$1" 2>/dev/null || [ -d "/var/lib/graft/$1" ] || die "cannot make /var/lib/graft/$1"
    [ ! -L "/var/lib/graft/$1" ] || die "refusing symlinked cache directory"
    chown "$2:" "/var/lib/graft/$1"
    echo "/var/lib/graft/$1"
    ;;
  cache-remove)
    case "$1" in *[!a-z0-9]*|'') die "refusing session id '$1'" ;; esac
    rm -rf -- "/var/lib/graft/$1"
    sweep_leftovers wait
    ;;
  host-facts)
    [ "${1:-}" != hidepid ] || proc_privacy_apply
    echo "$(cgroup_mechanism) $(host_size) privacy=$(proc_privacy)"
    ;;
  pool-*) pool_command "$cmd" "$@" ;;
  *) die "usage: agent-account.sh create|provision|put|as-agent|authorize|remove|sshd-keys|host-facts|shared-create|shared-put|shared-authorize|shared-remove|cache-dir|cache-remove|pool-fill|pool-claim|pool-revoke|pool-delete|pool-list ..." ;;
esac
