# graft's egress rules: the part of the host tool (agent-account.sh, where graft includes this file
# before uploading it) that limits where an agent's processes may connect. The kernel enforces
# them, keyed by the agent's uid (nftables `meta skuid`), in graft's own table `inet graft`; no
# other table is ever read or changed. provision and pool-claim make an agent's rules before its
# key is authorized; remove, pool-revoke and pool-delete drop them once its processes are gone.
#
#   EGRESS  open                      every destination but the cloud metadata address
#           none                      no connection at all
#           TOKEN[,TOKEN...]          only these (and replies to connections made to the agent):
#             lo+PORT                 TCP to PORT on loopback (graft's tunnels: channel, gateway)
#             net+CIDR[+PORT]         an address or network, every port or only PORT (TCP, UDP)
#             name+NAME[+PORT]        NAME's addresses, resolved now, and DNS to the resolvers
#
# The metadata address (169.254.169.254, fd00:ec2::254) is refused before anything is allowed.
# Changes are made under a lock of their own, each agent's in one nft transaction, so they are
# atomic and can be repeated: the agent's chain is flushed and filled anew.

egress_lock() {
  [ -d /var/lib/graft ] || { mkdir -p /var/lib/graft && chmod 0755 /var/lib/graft; }
  exec 6>>/var/lib/graft/egress.lock
  flock 6
  # All agents of a machine queue here (with the local provisioner, all its hosts'), so the
  # controller's deadline counts from now (see agent-account.sh).
  echo "graft-host: started"
}

egress_port() { case "$1" in ''|*[!0-9]*) die "refusing port '$1'" ;; esac; [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "refusing port '$1'"; }

# One accept rule for an address (or network) and an optional port.
egress_allow_address() {
  case "$1" in *:*) family=ip6 ;; *) family=ip ;; esac
  if [ -n "$2" ]; then
    echo "add rule inet graft $chain $family daddr $1 meta l4proto { tcp, udp } th dport $2 accept"
  else
    echo "add rule inet graft $chain $family daddr $1 accept"
  fi
}

# Prints the nft statements that fill chain $chain for EGRESS ($1). Exits (this subshell) on
# anything it does not understand.
egress_rules() {
  echo "add rule inet graft $chain ip daddr 169.254.169.254 counter reject"
  echo "add rule inet graft $chain ip6 daddr fd00:ec2::254 counter reject"
  [ "$1" = open ] && return 0
  echo "add rule inet graft $chain ct state established,related accept"
  dns=
  [ "$1" = none ] || for token in $(printf '%s' "$1" | tr ',' ' '); do
    kind=${token%%+*} rest=${token#*+}
    [ "$rest" != "$token" ] || die "refusing egress entry '$token'"
    target=${rest%%+*} port=
    [ "$target" = "$rest" ] || { port=${rest#*+}; egress_port "$port"; }
    case "$kind" in
      lo)
        egress_port "$target"
        echo "add rule inet graft $chain ip daddr 127.0.0.0/8 tcp dport $target accept"
        echo "add rule inet graft $chain ip6 daddr ::1 tcp dport $target accept"
        ;;
      net)
        case "$target" in ''|*[!0-9a-fA-F:./]*) die "refusing address '$target'" ;; esac
        egress_allow_address "$target" "$port"
        ;;
      name)
        case "$target" in ''|-*|*[!a-zA-Z0-9.-]*) die "refusing host name '$target'" ;; esac
        addresses=$(getent ahosts "$target" | awk '{ print $1 }' | sort -u)
        [ -n "$addresses" ] || die "cannot resolve '$target', named in the agent's network allow-list"
        for address in $addresses; do egress_allow_address "$address" "$port"; done
        dns=yes
        ;;
      *) die "refusing egress entry '$token'" ;;
    esac
  done
  # Names are looked up again by the agent's own tools: DNS, to the resolvers only.
  if [ -n "$dns" ]; then
    for resolver in $(awk '$1 == "nameserver" { print $2 }' /etc/resolv.conf 2>/dev/null); do
      case "$resolver" in *[!0-9a-fA-F:.]*) continue ;; esac
      egress_allow_address "$resolver" 53
    done
  fi
  echo "add rule inet graft $chain counter reject"
}

# Makes the rules of the account account_fields read last, replacing any it had.
egress_apply() {
  command -v nft >/dev/null 2>&1 || die "nft is not installed: graft enforces agents' network rules with nftables (apt-get install nftables)"
  chain=agent-$uid
  rules=$(egress_rules "$1") || exit 2
  egress_lock
  {
    echo "add table inet graft"
    echo "add map inet graft agents { type uid : verdict; }"
    echo "add chain inet graft output { type filter hook output priority 0; policy accept; }"
    # The output chain holds this one rule: flushed and added again in the same transaction, so
    # it is there exactly once without listing the chain first.
    echo "flush chain inet graft output"
    echo "add rule inet graft output meta skuid vmap @agents"
    echo "add chain inet graft $chain"
    echo "flush chain inet graft $chain"
    printf '%s\n' "$rules"
    echo "add element inet graft agents { $uid : jump $chain }"
  } | nft -f - || die "nft refused the network rules of uid $uid"
  exec 6>&-
}

# The uids of /etc/passwd, where graft's accounts are (useradd), space-separated: read once, not
# once per agent, while every agent of the machine waits for the lock.
local_uids() { awk -F: '{ printf "%s ", $3 }' /etc/passwd; }

# Drops the rules of the account account_fields read last (call once its processes are gone):
# the agent's own rules, in one transaction, on every task's critical path (a revocation). Where
# that transaction fails (they are gone already, or half: a remover killed half-way), the sweep
# below does it.
egress_remove() {
  command -v nft >/dev/null 2>&1 || return 0
  egress_lock
  printf '%s\n%s\n' "delete element inet graft agents { $uid }" "delete chain inet graft agent-$uid" | nft -f - 2>/dev/null || egress_sweep_locked
  exec 6>&-
}

# Drops the rules of uids that no longer have an account, and of uid $uid (the account
# account_fields read last, if any); the table goes with its last agent. Removals of accounts
# call it once per batch, after userdel.
egress_sweep() {
  command -v nft >/dev/null 2>&1 || return 0
  egress_lock
  egress_sweep_locked
  exec 6>&-
}

egress_sweep_locked() {
  table=$(nft list table inet graft 2>/dev/null) || return 0
  live=" $(local_uids) "
  {
    for chain in $(printf '%s\n' "$table" | sed -n 's/^[[:space:]]*chain \(agent-[0-9]*\) {$/\1/p'); do
      id=${chain#agent-}
      if [ "$id" != "${uid:-}" ]; then case "$live" in *" $id "*) continue ;; esac; fi
      printf '%s\n' "$table" | grep -Eq "(^|[{ ,[:space:]])$id : jump" && echo "delete element inet graft agents { $id }"
      echo "delete chain inet graft $chain"
    done
  } | nft -f - || die "nft refused to remove the network rules of uid ${uid:-(none)}"
  nft list table inet graft 2>/dev/null | grep -q 'chain agent-' || nft delete table inet graft 2>/dev/null || true
}
