#!/usr/bin/env bash
# A real single-node Slurm for CI and for `pytest -m slurm`, set up as described in
# /work/shared/SLURM_RECIPE.md (Debian 12, root, no systemd, no cgroups).
#
#   .ci/slurm.sh start    install (if missing) and start munged, slurmctld, slurmd; wait for an idle node
#   .ci/slurm.sh stop     cancel jobs, then stop slurmd, slurmctld, munged by their PIDs
#   .ci/slurm.sh status   print daemon and node state; exit 0 only if the node is usable
#
# State, spool, pid and log files live under $SLURM_CI_DIR (default /tmp/neurosteer-slurm).
# `start` is idempotent: daemons that are already running are left alone.
set -euo pipefail

DIR=${SLURM_CI_DIR:-/tmp/neurosteer-slurm}
CONF=/etc/slurm/slurm.conf
MUNGE_PID=/run/munge/munged.pid
HOST=$(hostname -s)
WAIT_S=${SLURM_CI_WAIT_S:-60}

log() { echo "slurm.sh: $*" >&2; }

# True when the PID in pid file $1 is alive and is the program $2. Checking /proc/PID/comm
# keeps us from signalling an unrelated process that reused a stale PID.
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]]
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        return
    fi
    log "installing slurm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
}

ensure_hostname_resolves() {
    # slurmctld looks its own SlurmctldHost up; an unresolvable name makes it exit at once.
    if ! getent hosts "$HOST" >/dev/null; then
        log "adding $HOST to /etc/hosts"
        echo "127.0.0.1 $HOST" >>/etc/hosts
    fi
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        # Only create a key when there is none: replacing the key of a munged that runs
        # elsewhere on this host would break it.
        install -d -o munge -g munge -m 700 /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge /run/munge
    su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=$MUNGE_PID"
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.1
    done
    log "munged did not come up"
    exit 1
}

write_conf() {
    local node_line
    node_line=$(slurmd -C | head -n 1)
    mkdir -p "$DIR"/{state,spool,run,log} /etc/slurm
    cat >"$CONF.tmp" <<EOF
# Written by .ci/slurm.sh: a single-node CI cluster; state under $DIR
ClusterName=ci
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
$node_line State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
}

node_state() { sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n 1; }

wait_until_idle() {
    local state
    for _ in $(seq $((WAIT_S * 2))); do
        state=$(node_state)
        case "$state" in
            idle | mixed | allocated | completing) log "node $HOST is $state"; return ;;
            down* | drain* | drained*) scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    log "node $HOST not idle after ${WAIT_S}s (state: ${state:-unknown}); see $DIR/log"
    exit 1
}

start() {
    install_packages
    ensure_hostname_resolves
    start_munge
    if ! alive "$DIR/run/slurmctld.pid" slurmctld || ! alive "$DIR/run/slurmd.pid" slurmd; then
        write_conf
    fi
    if ! alive "$DIR/run/slurmctld.pid" slurmctld; then
        slurmctld
        for _ in $(seq $((WAIT_S * 2))); do
            scontrol ping >/dev/null 2>&1 && break
            sleep 0.5
        done
        scontrol ping >/dev/null 2>&1 || { log "slurmctld did not answer; see $DIR/log"; exit 1; }
    fi
    if ! alive "$DIR/run/slurmd.pid" slurmd; then
        slurmd
    fi
    wait_until_idle
}

# Send SIGTERM to the process named in pid file $1 if it is program $2, then wait for it to go
# (SIGKILL after 10 s) so that a following `start` never races a dying daemon.
stop_one() {
    local pid
    alive "$1" "$2" || return 0
    pid=$(cat "$1")
    kill "$pid"
    for _ in $(seq 100); do
        [[ -d "/proc/$pid" ]] || return 0
        sleep 0.1
    done
    log "$2 ($pid) ignored SIGTERM; killing"
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    if command -v squeue >/dev/null && scontrol ping >/dev/null 2>&1; then
        local jobs
        jobs=$(squeue -h -o %i 2>/dev/null || true)
        [[ -z "$jobs" ]] || scancel $jobs 2>/dev/null || true
    fi
    stop_one "$DIR/run/slurmd.pid" slurmd
    stop_one "$DIR/run/slurmctld.pid" slurmctld
    stop_one "$MUNGE_PID" munged
    log "stopped"
}

status() {
    local ok=0 state
    for d in "slurmd:$DIR/run/slurmd.pid" "slurmctld:$DIR/run/slurmctld.pid" "munged:$MUNGE_PID"; do
        if alive "${d#*:}" "${d%%:*}"; then
            echo "${d%%:*}: running (pid $(cat "${d#*:}"))"
        else
            echo "${d%%:*}: stopped"
            ok=1
        fi
    done
    state=$( (command -v sinfo >/dev/null && node_state) || true)
    echo "node $HOST: ${state:-unknown}"
    case "$state" in idle | mixed | allocated | completing) ;; *) ok=1 ;; esac
    return $ok
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status   (state under \$SLURM_CI_DIR, default /tmp/neurosteer-slurm)" >&2; exit 2 ;;
esac
