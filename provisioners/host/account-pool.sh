# graft's warm account pool: the part of the host tool (agent-account.sh, where graft includes
# this file before uploading it) that makes agents' accounts ahead of time and deletes them in
# batches, so no task waits for /etc/passwd.
#
#   pool-fill SESSION COUNT     make COUNT keyless accounts graft-SESSION-<uid> under one lock;
#                               prints "account NAME HOME" for each
#   pool-claim ACCOUNT [EGRESS [LIMITS]]  give a pool account to an agent, once ever: its
#                               network rules (egress.sh) and cgroups (limits.sh), then stdin as for provision (key line, then
#                               "PATH BASE64" files); prints its home
#   pool-revoke ACCOUNT         its key and secret files gone, its processes killed, its network
#                               rules and cgroups dropped, at once;
#                               the account waits, keyless and empty of processes, for pool-delete
#   pool-delete SESSION [--all] delete the accounts named on stdin (revoked or never claimed) under
#                               one lock; --all: every pool account of the session, revoked first,
#                               and what an earlier deletion cut short left (homes, claim marks);
#                               prints "graft-host: working" after each account, as it goes
#   pool-list SESSION           every pool account of the session here: "NAME ready|claimed|revoked"
#
# A pool account is named after its uid, which is never reused, so its name never comes back
# either; agent names start with a letter, so it never collides with an agent's own account.
# Until claimed it holds no key line, no identity and no secret: sshd has nothing to let anyone
# in with, and '*' is no password. A claim is marked by a directory only mkdir can make, so a
# second claim of the same account is refused here whatever the controller believes.

claims_dir=/var/lib/graft/claims

check_session() { case "$1" in *[!a-z0-9]*|'') die "refusing session id '$1'" ;; esac; }

# Sets uid, gid, comment, home of a pool account of session $1 named $2; refuses anything else.
pool_account() {
  check_account "$2"
  case "${2#"graft-$1-"}" in "$2"|''|*[!0-9]*) die "refusing '$2': not a pool account of session $1" ;; esac
  account_fields "$2" || return 1
  [ "$comment" = "graft pool" ] || die "account $2 was not made by graft's pool"
}

# Every pool account of the session on this host.
pool_names() { getent passwd | awk -F: -v p="graft-$1-" 'index($1, p) == 1 && substr($1, length(p) + 1) ~ /^[0-9]+$/ && $5 == "graft pool" { print $1 }'; }

pool_fill() {
  check_session "$1"
  case "$2" in ''|*[!0-9]*) die "pool-fill: count '$2' is not a number" ;; esac
  [ "$2" -ge 1 ] && [ "$2" -le 64 ] || die "pool-fill: count must be 1 to 64, not $2"
  take_accounts_lock
  made= i=0
  while [ "$i" -lt "$2" ]; do
    id=$(next_uid)
    # No home yet: it is made below, after the lock is given back to the next batch.
    err=$(add_account "graft-$1-$id" "$id" "graft pool" --no-create-home --home-dir "/home/graft-$1-$id") || die "could not create a pool account: $err"
    made="$made graft-$1-$id" i=$((i + 1))
  done
  exec 7>&-
  for name in $made; do
    account_fields "$name" || die "account $name vanished after useradd"
    { mkdir -m 0700 "$home" && chown "$uid:$gid" "$home"; } || die "cannot make the home of $name"
    as_account sh -c 'umask 077; mkdir -p "$HOME/.graft/identity" "$HOME/.graft/secrets"'
    echo "account $name $home"
  done
}

pool_claim() {
  session=${1#graft-}; session=${session%%-*}
  pool_account "$session" "$1" || die "no account $1"
  [ -d "$claims_dir" ] || { mkdir -p "$claims_dir" && chmod 0700 "$claims_dir"; }
  mkdir "$claims_dir/$1" 2>/dev/null || die "account $1 was claimed before: refusing to give it to a second agent"
  # Queues for the network rules' lock, which says when it starts; without rules it starts now.
  if [ -n "${2:-}" ]; then egress_apply "$2"; else echo "graft-host: started"; fi
  [ -z "${3:-}" ] || limits_apply "$3"
  authorize_and_write "$1"
  echo "$home"
}

# Kills every process of the account (account_fields read last) until /proc shows none alive:
# kill(-1) as the account reaches exactly its own processes (kill -0 -1 cannot tell whether any
# is left: it succeeds whenever any other process exists, signallable or not). A killed process
# stays in /proc as a zombie until its parent (sshd, root's) reaps it, which on a busy host takes
# a while: zombies run nothing and are not waited for. A process that is still alive is given up
# to 30 s (one in uninterruptible sleep dies when it wakes).
alive_process() {
  for dir in $(find /proc -mindepth 1 -maxdepth 1 -name '[0-9]*' -uid "$uid" 2>/dev/null); do
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "$dir/status" 2>/dev/null) || continue
    case "$state" in ''|Z|X) ;; *) return 0 ;; esac
  done
  return 1
}
kill_until_gone() {
  tries=0
  while :; do
    # shellcheck disable=SC2016 # expanded by the account's shell
    as_account sh -c "${1:-}"'kill -KILL -1' 2>/dev/null || true
    alive_process || return 0
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || break
    sleep 0.1
  done
  die "processes of uid $uid survive being killed"
}

pool_revoke() {
  check_account "$1"
  # The key first: from now on nobody logs in as it.
  rm -f "/etc/graft/authorized_keys/$1"
  account_fields "$1" || exit 0
  # egress_remove queues for the network rules' lock, which says when it starts; without nft
  # there is nothing to queue for.
  command -v nft >/dev/null 2>&1 || echo "graft-host: started"
  # Its secrets and identity go with the key, in the shell that kills its processes (as the
  # account: nothing it planted leads root elsewhere); the account and its home wait for a batch
  # deletion.
  # shellcheck disable=SC2016 # expanded by the account's shell
  kill_until_gone 'rm -rf "$HOME/.graft/secrets" "$HOME/.graft/secrets.env" "$HOME/.graft/identity"; '
  egress_remove
  limits_remove
}

pool_delete() {
  check_session "$1"
  if [ "${2:-}" = --all ]; then names=$(pool_names "$1"); else names=$(cat); fi
  doomed=
  [ "${2:-}" != --all ] || pool_leftovers "$1"
  for name in $names; do
    pool_account "$1" "$name" || continue
    if [ "${2:-}" = --all ]; then
      rm -f "/etc/graft/authorized_keys/$name"
    elif [ -e "/etc/graft/authorized_keys/$name" ]; then
      die "refusing to delete $name: it still holds a key (revoke it first)"
    fi
    kill_until_gone
    doomed="$doomed $name:$uid:$home"
  done
  [ -n "$doomed" ] || { sweep_leftovers; exit 0; }
  take_accounts_lock
  for entry in $doomed; do
    name=${entry%%:*}
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      # --force: zombies of its killed processes may still wait for their parent (see kill_until_gone).
      userdel --force -- "$name" 2>/dev/null && break
      getent passwd "$name" >/dev/null || break
      sleep 0.1
    done
    getent passwd "$name" >/dev/null && die "could not delete account $name"
    ! getent group "$name" >/dev/null || groupdel "$name" 2>/dev/null || true
    # A big batch takes a while: the controller's deadline counts from the last sign of progress.
    echo "graft-host: working"
  done
  exec 7>&-
  # Network rules and cgroups of the batch (revoked ones gave theirs back already), once, now
  # that their uids have no account.
  uid=
  egress_sweep
  limits_sweep
  # Homes, claim marks and what they left in /tmp, after the lock is given back.
  for entry in $doomed; do
    name=${entry%%:*} rest=${entry#*:}
    rm -rf -- "${rest#*:}" "$claims_dir/$name"
    echo "${rest%%:*}" >> "$sweep_queue"
    echo "deleted $name"
  done
  sweep_leftovers
}

# Homes and claim marks of the session's pool accounts that no longer exist: a deletion cut short
# between userdel and their removal (its caller gone) left them, and only their names tell whose
# they were. Their uids are swept from /tmp with the batch's.
pool_leftovers() {
  for path in /home/graft-"$1"-* "$claims_dir"/graft-"$1"-*; do
    name=${path##*/}
    case "${name#"graft-$1-"}" in ''|*[!0-9]*) continue ;; esac
    [ -e "$path" ] && ! getent passwd "$name" >/dev/null || continue
    rm -rf -- "$path"
    echo "${name#"graft-$1-"}" >> "$sweep_queue"
  done
}

pool_list() {
  check_session "$1"
  for name in $(pool_names "$1"); do
    if [ ! -d "$claims_dir/$name" ]; then echo "$name ready"
    elif [ -e "/etc/graft/authorized_keys/$name" ]; then echo "$name claimed"
    else echo "$name revoked"; fi
  done
}

pool_command() {
  cmd=$1; shift
  case "$cmd" in
    pool-fill) pool_fill "$@" ;;
    pool-claim) pool_claim "$@" ;;
    pool-revoke) pool_revoke "$@" ;;
    pool-delete) pool_delete "$@" ;;
    pool-list) pool_list "$@" ;;
    *) die "unknown pool command $cmd" ;;
  esac
}
