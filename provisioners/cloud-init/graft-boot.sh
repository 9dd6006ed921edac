#!/bin/sh
# graft's first-boot script for a session VM, run once as root by cloud-init (runcmd):
#   graft-boot.sh BOOT_ENV
# BOOT_ENV (written by cloud-init from graft's user-data) sets GRAFT_SESSION, GRAFT_HOST,
# GRAFT_ADMIN_USER, GRAFT_ADMIN_KEY and GRAFT_EXPIRES_AT (Unix seconds).
#
# 1. the session's admin account: its own home, /bin/sh, passwordless sudo, and the session
#    admin key as its only authorized key;
# 2. the dead-man's switch: graft-deadman in ~/.graft/bin, armed now and at every boot, powers
#    the VM off at GRAFT_EXPIRES_AT even when no graft is left to do it (EC2 launches these
#    VMs with shutdown behaviour "terminate"; Compute Engine deletes them, see docs/cloud.md);
# 3. agents' key lookup: a drop-in that makes sshd read the key lines of agents' accounts
#    (graft-<session>-<task>) from root's /etc/graft/authorized_keys, never from their homes,
#    and one reload of the sshd already running (see below);
# 4. the host keys, printed to the console in cloud-init's standard block, where graft reads
#    and pins them before its first connection.
#
# Test seams (never set on a VM; tests run this script on the test machine itself):
#   GRAFT_CONSOLE            where the key block goes            (default /dev/console)
#   GRAFT_SSH_HOST_KEYS_DIR  where sshd's ssh_host_*_key.pub are (default /etc/ssh)
#   GRAFT_SSHD_CONFIG_DIR    where sshd_config and its sshd_config.d are (default /etc/ssh)
#   GRAFT_PER_BOOT_DIR       cloud-init's per-boot scripts       (default /var/lib/cloud/scripts/per-boot)
#   GRAFT_SHUTDOWN           the command graft-deadman runs instead of shutdown(8); recorded
#                            in ~/.graft/deadman.env so later re-arming uses it too
set -eu
umask 022

die() { echo "graft-boot: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: graft-boot.sh BOOT_ENV"
# shellcheck disable=SC1090
. "$1"
here=$(dirname "$0")
console=${GRAFT_CONSOLE:-/dev/console}
keys_dir=${GRAFT_SSH_HOST_KEYS_DIR:-/etc/ssh}
sshd_dir=${GRAFT_SSHD_CONFIG_DIR:-/etc/ssh}
per_boot=${GRAFT_PER_BOOT_DIR:-/var/lib/cloud/scripts/per-boot}

case "$GRAFT_ADMIN_USER" in graft-[a-z0-9]*) ;; *) die "refusing admin account name '$GRAFT_ADMIN_USER'" ;; esac
case "$GRAFT_ADMIN_USER" in *[!a-z0-9-]*) die "refusing admin account name '$GRAFT_ADMIN_USER'" ;; esac
case "$GRAFT_EXPIRES_AT" in ''|*[!0-9]*) die "GRAFT_EXPIRES_AT must be Unix seconds" ;; esac

# 1. The admin account. sshd refuses a locked account ('!') when PAM is off: '*' is "no password".
if ! getent passwd "$GRAFT_ADMIN_USER" >/dev/null; then
  useradd --create-home --shell /bin/sh --comment "graft session $GRAFT_SESSION admin" -- "$GRAFT_ADMIN_USER"
fi
usermod -p '*' -- "$GRAFT_ADMIN_USER"
home=$(getent passwd "$GRAFT_ADMIN_USER" | cut -d: -f6)
group=$(id -g -- "$GRAFT_ADMIN_USER")
install -d -m 0700 -o "$GRAFT_ADMIN_USER" -g "$group" "$home/.ssh" "$home/.graft" "$home/.graft/bin"
printf '%s\n' "$GRAFT_ADMIN_KEY" > "$home/.ssh/authorized_keys.tmp"
chown "$GRAFT_ADMIN_USER:$group" "$home/.ssh/authorized_keys.tmp"
chmod 0600 "$home/.ssh/authorized_keys.tmp"
mv -f "$home/.ssh/authorized_keys.tmp" "$home/.ssh/authorized_keys"
if [ -d /etc/sudoers.d ]; then
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$GRAFT_ADMIN_USER" > "/etc/sudoers.d/$GRAFT_ADMIN_USER.tmp"
  chmod 0440 "/etc/sudoers.d/$GRAFT_ADMIN_USER.tmp"
  mv -f "/etc/sudoers.d/$GRAFT_ADMIN_USER.tmp" "/etc/sudoers.d/$GRAFT_ADMIN_USER"
fi

# 2. The dead-man's switch. Root's files in a root-owned directory would do as well; the admin
# home keeps one path for graft to call over SSH (`sudo -n ~/.graft/bin/graft-deadman arm T`).
install -m 0755 "$here/graft-deadman.sh" "$home/.graft/bin/graft-deadman"
if [ -n "${GRAFT_SHUTDOWN:-}" ]; then
  printf 'GRAFT_SHUTDOWN=%s\n' "$GRAFT_SHUTDOWN" > "$home/.graft/deadman.env"
fi
mkdir -p "$per_boot"
printf '#!/bin/sh\nexec %s arm\n' "$home/.graft/bin/graft-deadman" > "$per_boot/graft-deadman"
chmod 0755 "$per_boot/graft-deadman"
"$home/.graft/bin/graft-deadman" arm "$GRAFT_EXPIRES_AT"

# 3. Agents' key lookup, before graft's first connection (the keys below come after it), so
# `agent-account.sh sshd-keys` finds it in place and never reloads sshd while agents log in.
# cloud-init runs this script in its final stage, after sshd has started (Debian 12: ssh.service;
# write_files and host keys come before it, runcmd after), and sshd reads its configuration only
# at start and on SIGHUP: each connection gets the listener's copy. So the running sshd is
# reloaded once, here, the way the distribution's own reload does it (`sshd -t`, then SIGHUP to
# the pid in its PidFile); an sshd not started yet (socket activation) reads the drop-in when it
# starts. A config that reads no drop-ins only gets a warning: graft refuses agents with their
# own accounts on such a host, with the reason, when it gets there.
sshd=$(command -v sshd || echo /usr/sbin/sshd)
config="$sshd_dir/sshd_config"
dropin="$sshd_dir/sshd_config.d/graft-agents.conf"
agent_keys() { "$sshd" -T -f "$config" -C user=graft-boot-probe,host=127.0.0.1,addr=127.0.0.1 2>/dev/null | grep -qx 'authorizedkeysfile /etc/graft/authorized_keys/%u'; }
mkdir -p "$sshd_dir/sshd_config.d"
printf 'Match User graft-*-*\n    AuthorizedKeysFile /etc/graft/authorized_keys/%%u\n' > "$dropin.tmp"
chmod 0644 "$dropin.tmp"
mv -f "$dropin.tmp" "$dropin"
if ! "$sshd" -t -f "$config"; then
  # A drop-in that breaks sshd's config would keep it from starting at the next boot.
  rm -f "$dropin"
  echo "graft-boot: warning: sshd rejects its config with graft's drop-in; agents' key lookup not set up" >&2
elif ! agent_keys; then
  echo "graft-boot: warning: $config reads no drop-ins from $sshd_dir/sshd_config.d; agents' key lookup not set up" >&2
else
  pid_file=$("$sshd" -T -f "$config" | sed -n 's/^pidfile //p')
  pid=$(cat "$pid_file" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # sshd writes its PidFile again once it listens with the new config: wait for that.
    rm -f "$pid_file"
    kill -HUP "$pid"
    tries=0
    until [ -s "$pid_file" ]; do
      tries=$((tries + 1))
      [ "$tries" -lt 100 ] || die "sshd $pid did not come back within 10 s of its reload"
      sleep 0.1
    done
  fi
fi

# 4. The host keys, last: once graft sees them the account above is ready.
{
  echo '-----BEGIN SSH HOST KEY KEYS-----'
  for key in "$keys_dir"/ssh_host_*_key.pub; do
    [ -f "$key" ] && cut -d' ' -f1-2 "$key"
  done
  echo '-----END SSH HOST KEY KEYS-----'
} >> "$console"
