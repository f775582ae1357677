#!/usr/bin/env bash
# Stops the one-node Slurm cluster started by scripts/slurm-up.sh (slurmd, slurmctld,
# munged, by their pid files), leaving the state directory (config, logs, job state).
# Running jobs are not cancelled first: slurmctld saves them and a later slurm-up
# recovers them (or marks them failed if their processes died meanwhile).
# Usage: scripts/slurm-down.sh          (TLR_SLURM_DIR as for slurm-up, default /tmp/tlr-slurm)
set -euo pipefail

run=${TLR_SLURM_DIR:-/tmp/tlr-slurm}/run
for name in slurmd slurmctld munged; do
  pid=$(cat "$run/$name.pid" 2>/dev/null) || continue
  # Only a live, non-zombie process with that name: the pid may have been reused.
  if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat /proc/"$pid"/stat 2>/dev/null) == "$pid ($name) "[^ZX]* ]]; then
    echo "slurm-down: stopping $name (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ $(cat /proc/"$pid"/stat 2>/dev/null) == "$pid ($name) "[^ZX]* ]] || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$run/$name.pid"
done
