#!/bin/sh
# graft's host-side agent account tool. Uploaded to the admin login's ~/.graft/bin by graft and
# run over SSH: as root (through sudo) for per-agent Unix accounts, or as the login user for
# agents that share it. File contents (keys, certificates, secrets) arrive on standard input,
# never on a command line, so they never show in a process list.
#
#   agent-account.sh create ACCOUNT                 new locked-down account; prints its home
#   agent-account.sh put ACCOUNT PATH MODE          stdin -> ~ACCOUNT/PATH, owned by ACCOUNT
#   agent-account.sh authorize ACCOUNT              stdin -> ~ACCOUNT/.ssh/authorized_keys (replaced)
#   agent-account.sh remove ACCOUNT                 kill its processes, delete account and home
#   agent-account.sh shared-create DIR              a private directory under the login account
#   agent-account.sh shared-put DIR PATH MODE       stdin -> DIR/PATH
#   agent-account.sh shared-authorize KEYS MARKER   stdin (one key line) replaces MARKER's line in KEYS
#   agent-account.sh shared-remove DIR KEYS MARKER  kill processes tagged MARKER, drop its key line and DIR
#   agent-account.sh cache-dir SESSION OWNER        /var/lib/graft/SESSION, owned by OWNER, readable by agents
#   agent-account.sh cache-remove SESSION           remove it
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

home_of() { getent passwd "$1" | cut -d: -f6; }

write_file() { # target mode owner(optional)
  dir=$(dirname "$1")
  mkdir -p "$dir"
  tmp="$1.tmp.$$"
  cat > "$tmp"
  chmod "$2" "$tmp"
  [ -z "${3:-}" ] || chown "$3:" "$tmp"
  mv -f "$tmp" "$1"
}

cmd=${1:-}; [ $# -gt 0 ] && shift
case "$cmd" in
  create)
    check_account "$1"
    # useradd takes a lock on /etc/passwd; agents created in parallel wait their turn.
    tries=0
    until getent passwd "$1" >/dev/null || useradd --create-home --shell /bin/sh --user-group --comment "graft agent" -- "$1" 2>/tmp/.graft-useradd.$$; do
      tries=$((tries + 1))
      [ "$tries" -lt 50 ] || { cat /tmp/.graft-useradd.$$ >&2; rm -f /tmp/.graft-useradd.$$; die "could not create account $1"; }
      sleep 0.1
    done
    rm -f /tmp/.graft-useradd.$$
    # Locked accounts are refused by sshd without PAM; '*' allows keys, never a password.
    usermod -p '*' -- "$1"
    home=$(home_of "$1")
    chmod 0700 "$home"
    for d in .ssh .graft .graft/identity .graft/secrets; do
      mkdir -p "$home/$d"; chmod 0700 "$home/$d"; chown "$1:" "$home/$d"
    done
    echo "$home"
    ;;
  put)
    check_account "$1"; check_relpath "$2"
    home=$(home_of "$1"); [ -n "$home" ] || die "no account $1"
    write_file "$home/$2" "$3" "$1"
    # Parent directories created for the file belong to the agent too.
    chown "$1:" "$(dirname "$home/$2")"
    ;;
  authorize)
    check_account "$1"
    home=$(home_of "$1"); [ -n "$home" ] || die "no account $1"
    write_file "$home/.ssh/authorized_keys" 0600 "$1"
    ;;
  remove)
    check_account "$1"
    getent passwd "$1" >/dev/null || exit 0
    pkill -KILL -u "$1" 2>/dev/null || true
    # Processes can take a moment to die; userdel refuses while they run.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      userdel --remove -- "$1" 2>/dev/null && break
      pkill -KILL -u "$1" 2>/dev/null || true
      sleep 0.2
    done
    getent passwd "$1" >/dev/null && die "could not remove account $1"
    group=$(getent group "$1" | cut -d: -f1 || true)
    [ -z "$group" ] || groupdel "$1" 2>/dev/null || true
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
    [ -d "/var/lib/graft/$1" ] || mkdir -m 0755 "/var/lib/graft/$1"
    [ ! -L "/var/lib/graft/$1" ] || die "refusing symlinked cache directory"
    chown "$2:" "/var/lib/graft/$1"
    echo "/var/lib/graft/$1"
    ;;
  cache-remove)
    case "$1" in *[!a-z0-9]*|'') die "refusing session id '$1'" ;; esac
    rm -rf -- "/var/lib/graft/$1"
    ;;
  *) die "usage: agent-account.sh create|put|authorize|remove|shared-create|shared-put|shared-authorize|shared-remove|cache-dir|cache-remove ..." ;;
esac
