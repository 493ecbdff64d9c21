#!/bin/bash
# A single-node Slurm cluster on this machine, for test/slurm.test.ts:
#   tools/slurm-local.sh start   # munge key, munged, slurm.conf, slurmctld, slurmd; waits for an idle node
#   tools/slurm-local.sh stop
# Needs root and Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge).
# Idempotent: start on a running cluster only waits for the node.
set -euo pipefail
state=/var/spool/cdam-slurm
conf=/etc/slurm/slurm.conf
host=$(hostname -s)

start() {
  mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge "$state/ctld" "$state/d" /etc/slurm
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
  chmod 0400 /etc/munge/munge.key
  if ! munge -n >/dev/null 2>&1; then

    su -s /bin/sh munge -c /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
  fi
  # memory for the node as slurmd will find it (MB), so jobs may ask for --mem
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
  cat > "$conf.new" <<CONF
ClusterName=cdamlocal
SlurmctldHost=$host
SlurmUser=root
NodeName=$host CPUs=2 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
ReturnToService=2
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
CONF
  mv "$conf.new" "$conf"
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qx 'idle'; then echo "slurm: node $host idle"; return 0; fi
    scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  echo "slurm: node $host not idle after 60 s (logs in $state)" >&2
  sinfo -N >&2 || true
  return 1
}

stop() {
  for p in slurmd slurmctld; do
    if [ -s "$state/$p.pid" ]; then kill "$(cat "$state/$p.pid")" 2>/dev/null || true; fi
  done
  echo "slurm: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
