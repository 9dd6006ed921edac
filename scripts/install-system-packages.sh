#!/usr/bin/env bash
# Installs the system packages graft and its tests need on Debian/Ubuntu.
# As root it runs apt-get; otherwise it prints the exact sudo line and fails if anything is missing.
set -euo pipefail

# openssh-server: the local provisioner runs real sshd processes; openssh-client: ssh-keygen, ssh.
# git: worktrees; curl: the agent helper; sudo: per-agent accounts on local hosts when run as root;
# ansible: tests check inventory parsing against ansible-inventory, and the benchmark compares with it;
# iproute2: network namespaces in the tests; rsync and hyperfine: benchmarks.
# nftables: the host tool enforces agents' egress rules with nft (local hosts are this machine),
# and the egress tests check them there.
# chromium: the dashboard's browser tests and benchmark drive Debian's Chromium with playwright-core
# (no browser is ever downloaded).
# tmux: each task runs in a tmux session on its host that `graft attach` joins (local hosts are this
# machine), and the attach tests drive `graft attach` on a terminal that tmux provides.
# libpq-dev: team mode's PostgreSQL client (the optional `libpq` npm package) compiles against it
# during npm install; postgresql: the team-mode tests and benchmark start throwaway clusters of
# Debian's real server (initdb, pg_ctl) and use its psql.
packages=(openssh-server openssh-client git curl sudo ansible iproute2 nftables rsync hyperfine ca-certificates chromium tmux libpq-dev postgresql)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "graft needs these Debian packages: ${missing[*]}" >&2
  echo "install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
