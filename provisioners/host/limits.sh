# graft's resource limits: the part of the host tool (agent-account.sh, where graft includes this
# file before uploading it) that gives an agent cgroups of its own, made by provision and
# pool-claim with its account and removed by remove, pool-revoke and pool-delete once its
# processes are gone.
#
#   LIMITS  cpu=MILLICORES,memory=BYTES,pids=N    any of them, comma-separated
#
# cgroup v1 (memory, pids and cpu controllers each mounted under /sys/fs/cgroup): the agent gets
# /sys/fs/cgroup/CONTROLLER/graft/agent-UID, and its cgroup.procs is the agent's, so the task's
# wrapper, running as the agent, moves itself in before the harness starts (v1 lets the owner of
# a process move it into a cgroup whose cgroup.procs it may write; it can never write a cgroup
# outside its own, so it cannot move out). The directories are listed, one a line, in the agent's
# ~/.graft/cgroup; the launcher reads their pids.events and memory.oom_control when the task ends.
# cgroup v2 needs the processes moved by root (its rules check the common ancestor), which this
# tool does not do yet: limits are refused there, as where no cgroup is mounted.

# Prints the mechanism: cgroup-v1, cgroup-v2 (not used yet), or none. v1 counts only when graft
# can make cgroups there (a container's read-only cgroup mounts are none).
cgroup_mechanism() {
  if [ -w /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/pids ] && [ -w /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/memory/cgroup.procs ]; then echo cgroup-v1
  elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo cgroup-v2
  else echo none; fi
}

# Prints the host's size, what default limits are worked out from: `cores=N memory=BYTES`.
host_size() {
  kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
  echo "cores=$(nproc) memory=$((${kib:-0} * 1024))"
}

limits_dirs() { for controller in memory pids cpu; do echo "/sys/fs/cgroup/$controller/graft/agent-$1"; done; }

# Makes the cgroups of the account account_fields read last, with LIMITS ($1).
limits_apply() {
  mechanism=$(cgroup_mechanism)
  [ "$mechanism" = cgroup-v1 ] || die "resource limits need cgroup v1 controllers memory, pids and cpu on this host (found: $mechanism)"
  cpu= memory= pids=
  saved_ifs=$IFS IFS=,
  # shellcheck disable=SC2086 # split at the commas
  set -- $1
  IFS=$saved_ifs
  for setting in "$@"; do
    value=${setting#*=}
    case "$value" in ''|*[!0-9]*) die "refusing limit '$setting'" ;; esac
    case "$setting" in
      cpu=*) cpu=$value ;;
      memory=*) memory=$value ;;
      pids=*) pids=$value ;;
      *) die "refusing limit '$setting'" ;;
    esac
  done
  owned= missing=
  for dir in $(limits_dirs "$uid"); do
    # Searchable by the agent (the tool's umask would make them 0700).
    [ -d "${dir%/*}" ] || mkdir -m 0755 "${dir%/*}" 2>/dev/null || [ -d "${dir%/*}" ] || die "cannot make cgroup ${dir%/*}"
    [ -d "$dir" ] || missing="$missing $dir"
    owned="$owned $dir/cgroup.procs $dir/tasks"
  done
  # shellcheck disable=SC2086 # one word per directory, one per file
  { [ -z "$missing" ] || mkdir -m 0755 $missing; } || die "cannot make the cgroups of uid $uid"
  # shellcheck disable=SC2086
  chown "$uid" $owned
  memory_dir=/sys/fs/cgroup/memory/graft/agent-$uid
  pids_dir=/sys/fs/cgroup/pids/graft/agent-$uid
  cpu_dir=/sys/fs/cgroup/cpu/graft/agent-$uid
  # Unset limits are lifted, so applying again replaces what was there.
  echo "${memory:--1}" > "$memory_dir/memory.limit_in_bytes" || die "cannot set the memory limit of uid $uid"
  echo "${pids:-max}" > "$pids_dir/pids.max" || die "cannot set the process limit of uid $uid"
  if [ -n "$cpu" ]; then
    period=$(cat "$cpu_dir/cpu.cfs_period_us")
    echo $((cpu * period / 1000)) > "$cpu_dir/cpu.cfs_quota_us" || die "cannot set the CPU limit of uid $uid"
  else
    echo -1 > "$cpu_dir/cpu.cfs_quota_us"
  fi
  # Listed in ~/.graft/cgroup, written as the account with its other files (authorize_and_write).
  agent_cgroups=$(limits_dirs "$uid")
}

# Removes the cgroups of the account account_fields read last (its processes are gone).
limits_remove() {
  # A process that has just died may still be counted for a moment.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    dirs=
    for dir in $(limits_dirs "$uid"); do [ ! -d "$dir" ] || dirs="$dirs $dir"; done
    [ -n "$dirs" ] || return 0
    # shellcheck disable=SC2086 # one word per directory
    rmdir $dirs 2>/dev/null && return 0
    sleep 0.1
  done
}

# Removes the cgroups of uids that no longer have an account, and of uid $uid (the account
# account_fields read last, if any). Removals of accounts call it once per batch, after userdel.
limits_sweep() {
  live=" $(local_uids) "
  for dir in /sys/fs/cgroup/memory/graft/agent-* /sys/fs/cgroup/pids/graft/agent-* /sys/fs/cgroup/cpu/graft/agent-*; do
    [ -d "$dir" ] || continue
    id=${dir##*/agent-}
    if [ "$id" != "${uid:-}" ]; then case "$live" in *" $id "*) continue ;; esac; fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
  done
}
