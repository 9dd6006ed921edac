# graft's agent key lookup: the part of the host tool (agent-account.sh, where graft includes this
# file before uploading it) behind `sshd-keys`. Agents' key lines live in root's
# /etc/graft/authorized_keys, where agents cannot lift restrict, from= or expiry-time=; this makes
# sure the sshd serving the very connection graft uses looks there for agents' accounts.

# The sshd serving this connection: the topmost of the sshd processes this command descends
# from (the "[listener]"; its per-connection children are "sshd"/"sshd-session" too). Sets
# listener (its pid, empty when there is none), sshd (its binary), config (its -f file, default
# /etc/ssh/sshd_config) and client (the connection as sshd sees it: from SSH_CONNECTION in an
# ancestor's environment, as sudo drops it from ours).
find_serving_sshd() {
  listener=; client=; pid=$$
  while [ "$pid" -gt 1 ] 2>/dev/null; do
    [ -n "$client" ] || client=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p')
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      sshd*) listener=$pid; tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q '\[listener\]' && break ;;
      *) [ -z "$listener" ] || break ;;
    esac
    pid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
  done
  [ -n "$listener" ] || return 0
  sshd=$(readlink "/proc/$listener/exe" 2>/dev/null || true)
  [ -x "$sshd" ] || sshd=$(command -v sshd || echo /usr/sbin/sshd)
  config=$(tr '\0' ' ' < "/proc/$listener/cmdline" | sed -n 's/.* -f \([^ ]*\).*/\1/p')
  config=${config:-/etc/ssh/sshd_config}
}

# True when that sshd's effective config, for an agent account logging in over this connection,
# reads keys from /etc/graft/authorized_keys and nowhere else (sshd -T evaluates Match blocks).
agent_keys_looked_up() {
  # shellcheck disable=SC2086
  set -- ${client:-127.0.0.1 0 127.0.0.1 22}
  "$sshd" -T -f "$config" -C "user=graft-probe-agent,host=$1,addr=$1,laddr=$3,lport=$4" 2>/dev/null | grep -qx 'authorizedkeysfile /etc/graft/authorized_keys/%u'
}

# Reloads the serving sshd the way its distribution does (SIGHUP: it execs itself again with its
# config read afresh; open connections carry on), and waits until it listens again, which it
# shows by writing its PidFile anew.
reload_sshd() {
  pid_file=$("$sshd" -T -f "$config" | sed -n 's/^pidfile //p')
  [ "$pid_file" = none ] || rm -f "$pid_file"
  kill -HUP "$listener"
  tries=0
  until [ "$pid_file" = none ] || [ -s "$pid_file" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || die "sshd $listener did not come back within 10 s of its reload"
    sleep 0.1
  done
}

sshd_keys() {
  # Agents' key lines live in root's /etc/graft/authorized_keys, where agents cannot lift
  # restrict, from= or expiry-time=. Makes sure the sshd serving this very connection looks
  # there for agents' accounts, and prints "ready", or "unsupported REASON" when it cannot.
  # Cloud VMs have the lookup from their first boot (graft-boot.sh); other hosts get a drop-in
  # beside that sshd's config and one reload.
  mkdir -p /var/lib/graft && chmod 0755 /var/lib/graft
  exec 9>/var/lib/graft/sshd-keys.lock
  flock 9
  find_serving_sshd
  [ -n "$listener" ] || { echo "unsupported: no sshd serves this connection"; exit 0; }
  agent_keys_looked_up && { echo ready; exit 0; }
  case "$config" in /*) ;; *) echo "unsupported: sshd $listener runs with a relative config path ($config)"; exit 0 ;; esac
  [ "$(stat -c %u "/proc/$listener")" = 0 ] || { echo "unsupported: sshd $listener does not run as root"; exit 0; }
  dropins=$(dirname "$config")/sshd_config.d
  [ -d "$dropins" ] || { echo "unsupported: $config reads no drop-ins ($dropins does not exist)"; exit 0; }
  conf=$dropins/graft-agents.conf
  printf 'Match User graft-*-*\n    AuthorizedKeysFile /etc/graft/authorized_keys/%%u\n' | write_file "$conf" 0644
  "$sshd" -t -f "$config" || { rm -f "$conf"; die "sshd rejected the drop-in"; }
  agent_keys_looked_up || { rm -f "$conf"; echo "unsupported: $config reads no drop-ins from $dropins, or overrides their AuthorizedKeysFile for graft-*-*"; exit 0; }
  reload_sshd
  echo ready
}
