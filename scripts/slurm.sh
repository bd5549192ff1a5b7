#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for `perennial sweep --launcher
# slurm` and its tests (scripts/setup.sh --test and --dev start it):
#   scripts/slurm.sh start    install slurm-wlm and munge if missing, create the
#                             munge key, write a single-node slurm.conf, start
#                             munged, slurmctld and slurmd, and wait until the
#                             node is idle; quick when already up
#   scripts/slurm.sh status   the daemons and the node's state; fails when down
#   scripts/slurm.sh stop     stop slurmd and slurmctld (munged stays up)
# Daemons are started directly, without systemd (containers have none). A
# slurm.conf this script did not write is a real cluster's: it is used as it
# is, never replaced.
set -euo pipefail

action=${1:-}
conf=/etc/slurm/slurm.conf
marker="# Written by perennial's scripts/slurm.sh"
logdir=/var/log/slurm
node=$(hostname -s)
# How long `start` waits for the node to come up; a few seconds is usual.
wait_s=${PERENNIAL_SLURM_WAIT:-30}

if [ "$(id -u)" -eq 0 ]; then sudo=""
elif command -v sudo >/dev/null; then sudo="sudo"
else sudo="none"
fi

fail() {
  echo "slurm.sh: $*" >&2
  exit 1
}

as_root() {
  if [ "$sudo" = none ]; then
    echo "slurm.sh: need root (or sudo) to $*" >&2
    exit 1
  fi
  $sudo "$@"
}

install_packages() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "slurm.sh: installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The pid in a daemon's pid file when that process is alive.
running_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start_munge() {
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    as_root dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
    as_root chown munge:munge "$key"
    as_root chmod 400 "$key"
  fi
  if ! running_pid /run/munge/munged.pid >/dev/null && ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    as_root install -d -o munge -g munge -m 755 /run/munge
    as_root runuser -u munge -- /usr/sbin/munged || fail "munged did not start (its log: /var/log/munge/munged.log)"
  fi
  munge -n | unmunge >/dev/null || fail "munged does not answer (its log: /var/log/munge/munged.log)"
}

# The configuration for this machine: all its cores, 90% of its memory (the
# node is refused when RealMemory exceeds what it has).
write_conf() {
  local memory cpus text
  memory=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cpus=$(nproc)
  text="$marker: it is rewritten when this machine's
# cores or memory change. Replace it with your cluster's to stop that.
ClusterName=perennial
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$logdir/slurmctld.log
SlurmdLogFile=$logdir/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc=$logdir/jobcomp.log
AccountingStorageType=accounting_storage/none
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP"
  if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
    return 1
  fi
  if [ "$(cat "$conf" 2>/dev/null)" != "$text" ]; then
    as_root install -d /etc/slurm "$logdir" /var/spool/slurmctld /var/spool/slurmd
    printf '%s\n' "$text" | as_root tee "$conf" >/dev/null
    return 0
  fi
  return 1
}

node_state() {
  sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -1
}

start() {
  install_packages
  start_munge
  local changed=0
  write_conf && changed=1
  as_root install -d "$logdir" /var/spool/slurmctld /var/spool/slurmd
  if ! running_pid /run/slurmctld.pid >/dev/null; then
    as_root slurmctld || fail "slurmctld did not start (its log: $logdir/slurmctld.log)"
  elif [ "$changed" = 1 ]; then
    as_root scontrol reconfigure
  fi
  if ! running_pid /run/slurmd.pid >/dev/null; then
    as_root slurmd || fail "slurmd did not start (its log: $logdir/slurmd.log)"
  fi
  local state=""
  for _ in $(seq $((wait_s * 2))); do
    state=$(node_state)
    case "$state" in
      idle | mixed | allocated | completing) echo "slurm.sh: node $node is $state"; return 0 ;;
    esac
    sleep 0.5
  done
  if ! running_pid /run/slurmctld.pid >/dev/null; then
    echo "slurm.sh: slurmctld is not running (its log: $logdir/slurmctld.log)" >&2
  elif ! running_pid /run/slurmd.pid >/dev/null; then
    echo "slurm.sh: slurmd is not running (its log: $logdir/slurmd.log)" >&2
  else
    echo "slurm.sh: node $node is '${state:-unknown}' after ${wait_s} s, not idle (logs: $logdir/slurmctld.log, $logdir/slurmd.log)" >&2
  fi
  exit 1
}

status() {
  local ok=0
  for d in slurmctld slurmd; do
    if pid=$(running_pid /run/$d.pid); then echo "$d: running (pid $pid)"
    else echo "$d: not running (its log: $logdir/$d.log)"; ok=1
    fi
  done
  echo "node $node: $(node_state || true)"
  return $ok
}

stop() {
  local pid
  for d in slurmd slurmctld; do
    if pid=$(running_pid /run/$d.pid); then
      as_root kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "slurm.sh: stopped $d"
    fi
  done
}

case "$action" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: scripts/slurm.sh start|status|stop" >&2; exit 2 ;;
esac
