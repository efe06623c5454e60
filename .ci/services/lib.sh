# shellcheck shell=bash disable=SC2034  # the names are used by the scripts that source this
# Shared by cluster-up, cluster-down, cluster-dump and record-fixtures (sourced, not run).
#
# The test cluster is a one-node Slurm cluster (slurmctld + slurmd + slurmdbd on MariaDB,
# authenticated by munge) plus an sshd on 127.0.0.1:2222 through which the tests reach it
# as the unprivileged user `msotest`, the way mso reaches a real login node.
#
# Everything the cluster owns lives under $MSO_TEST_DIR (state, keys, pid records) and
# $MSO_TEST_LOG_DIR (daemon logs), so it never mixes with another Slurm on the machine.

MSO_TEST_DIR=${MSO_TEST_DIR:-/var/lib/mso-test}
MSO_TEST_LOG_DIR=${MSO_TEST_LOG_DIR:-/var/log/mso-test}
STARTED_DIR=$MSO_TEST_DIR/started   # one NAME.pid per daemon that cluster-up started (or adopted)
RUN_DIR=$MSO_TEST_DIR/run           # the daemons' own pid files
SLURM_STATE_DIR=$MSO_TEST_DIR/slurm/state   # StateSaveLocation: this cluster's alone
SLURM_SPOOL_DIR=$MSO_TEST_DIR/slurm/spool   # SlurmdSpoolDir
ENV_FILE=$MSO_TEST_DIR/env

CLUSTER_NAME=msotest
SLURM_ACCOUNT=mso
TEST_USER=msotest
SSH_HOST=127.0.0.1
SSH_PORT=2222
PARTITIONS=debug,long
SLURM_CONF=/etc/slurm/slurm.conf
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
KEY_FILE=$MSO_TEST_DIR/id_ed25519
KNOWN_HOSTS_FILE=$MSO_TEST_DIR/known_hosts

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# --- pid bookkeeping ------------------------------------------------------------------------
# A pid file can outlive its process (CI ends every process of the session but keeps the
# files), and the pid may since have been reused by something else. So a recorded pid only
# counts while /proc/PID/comm still names the expected program.

# pid_alive PID COMM -> 0 when PID runs a program whose comm starts with COMM
pid_alive() {
    local pid=$1 comm=$2 actual
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    actual=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $actual == "$comm"* ]] || return 1
    # An exited daemon stays a zombie until init reaps it, which can take seconds here. (A
    # zombie leader whose other threads still run is alive: it has more than one task.)
    local stat tasks
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]] && return 0
    tasks=(/proc/"$pid"/task/*)
    ((${#tasks[@]} > 1))
}

# recorded_pid NAME COMM -> prints the pid recorded in started/NAME.pid if it is still alive
recorded_pid() {
    local name=$1 comm=$2 pid
    pid=$(cat "$STARTED_DIR/$name.pid" 2>/dev/null) || return 1
    pid_alive "$pid" "$comm" || return 1
    printf '%s\n' "$pid"
}

record_pid() {  # record_pid NAME PID
    mkdir -p "$STARTED_DIR"
    printf '%s\n' "$2" >"$STARTED_DIR/$1.pid"
}

# stop_recorded NAME COMM [TIMEOUT_S]: SIGTERM the recorded process, wait for it to go,
# SIGKILL when it does not; then forget the record. Silent no-op when nothing is recorded.
stop_recorded() {
    local name=$1 comm=$2 timeout=${3:-20} pid i t0=$EPOCHREALTIME
    if pid=$(recorded_pid "$name" "$comm"); then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < timeout * 10; i++)); do
            pid_alive "$pid" "$comm" || break
            sleep 0.1
        done
        if pid_alive "$pid" "$comm"; then
            log "$name (pid $pid) ignored SIGTERM for ${timeout}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
        log "stopped $name (pid $pid) in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')s"
    fi
    rm -f "$STARTED_DIR/$name.pid"
}

# --- timing ---------------------------------------------------------------------------------
# phase NAME: report how long the previous phase took, then start timing NAME.
_phase_name='' _phase_t0='' _script_t0=$EPOCHREALTIME
phase() {
    local now=$EPOCHREALTIME
    if [[ -n $_phase_name ]]; then
        printf '[%s] phase %-14s %6.2fs\n' "${0##*/}" "$_phase_name" \
            "$(awk -v a="$_phase_t0" -v b="$now" 'BEGIN{print b-a}')" >&2
    fi
    _phase_name=$1 _phase_t0=$now
}
phases_done() {
    phase ""
    printf '[%s] total %.2fs\n' "${0##*/}" \
        "$(awk -v a="$_script_t0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" >&2
}

# wait_for SECONDS DESCRIPTION CMD...: retry CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
    local timeout=$1 what=$2 deadline
    shift 2
    deadline=$(( ${EPOCHREALTIME/./} + timeout * 1000000 ))
    until "$@" >/dev/null 2>&1; do
        if (( ${EPOCHREALTIME/./} > deadline )); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

require_root() {
    [[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts daemons)"
}
