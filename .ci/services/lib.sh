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
LIMITED_ACCOUNT=mso-campaign      # the same user, at most LIMITED_MAX_SUBMIT jobs queued
LIMITED_MAX_SUBMIT=150
REST_HOST=127.0.0.1
REST_PORT=6820                    # slurmrestd, with JWT tokens (auth/jwt)
JWT_KEY=$SLURM_STATE_DIR/jwt_hs256.key
TEST_USER=msotest
OTHER_USER=mso-other              # another user's jobs: a queue the test user's jobs wait behind
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

# --- the test registry and the base image (registry-up, base-image-up, registry-down) ----------
# A real OCI registry (Debian's docker-registry, the CNCF distribution registry) on loopback with
# TLS from a local CA and htpasswd auth; the base image is pushed to it as lab/debian-numpy:12.

REGISTRY_DIR=$MSO_TEST_DIR/registry          # CA, certificate, htpasswd, config; data/ = blobs
REGISTRY=127.0.0.1:5055
REGISTRY_USER=mso
REGISTRY_PASSWORD_FILE=$REGISTRY_DIR/password   # root-only (600); the env file names only the path
REGISTRY_CA=$REGISTRY_DIR/ca.crt
REGISTRY_CA_BUNDLE=$REGISTRY_DIR/ca-bundle.pem  # system roots + the local CA, for REQUESTS_CA_BUNDLE
REGISTRY_PID_FILE=$RUN_DIR/registry.pid
CH_STORAGE=$MSO_TEST_DIR/ch-image               # CH_IMAGE_STORAGE of the base-image builder
BASE_CACHE_DIR=/var/cache/mso-test
BASE_IMAGE_NAME=debian-numpy:12                 # its name in ch-image storage
BASE_IMAGE=$REGISTRY/lab/$BASE_IMAGE_NAME       # its reference in the registry

# write_if_changed FILE MODE OWNER < CONTENT: replace FILE only when CONTENT differs (so an
# unchanged config never restarts a daemon); 0 when the file was (re)written. cluster-up keeps
# an identical copy of its own.
write_if_changed() {
    local file=$1 mode=$2 owner=$3 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        chmod "$mode" "$file"; chown "$owner" "$file"
        return 1
    fi
    chmod "$mode" "$tmp"; chown "$owner" "$tmp"
    mv -f "$tmp" "$file"
    return 0
}

# env_file_set KEY=VALUE...: set these keys in $ENV_FILE, keeping every other line (other
# scripts own them) in place; the file is rewritten only when something changed.
env_file_set() {
    local kv keys=()
    for kv in "$@"; do keys+=("${kv%%=*}"); done
    install -d -m 755 "$MSO_TEST_DIR"
    {
        if [[ -f $ENV_FILE ]]; then
            awk -v keys="${keys[*]}" 'BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) drop[k[i]] = 1 }
                { key = $0; sub(/=.*/, "", key); if (!(key in drop)) print }' "$ENV_FILE"
        fi
        printf '%s\n' "$@"
    } | write_if_changed "$ENV_FILE" 644 root:root || true
}

# install_missing_debs PKG...: apt-get install the packages that are not installed yet, with no
# recommends, and without letting their maintainer scripts start daemons (no systemd here, and a
# daemon started by a postinst would not be ours to stop). Lists are refreshed only when needed.
install_missing_debs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "installing: ${missing[*]}"
    local own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local apt=(env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q --no-install-recommends
               -o Dpkg::Options::=--force-confold)
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -q
    if ! "${apt[@]}" "${missing[@]}"; then
        log "install failed with the current package lists: apt-get update, then retry"
        apt-get update -q
        "${apt[@]}" "${missing[@]}" || { ((own_policy)) && rm -f /usr/sbin/policy-rc.d; return 1; }
    fi
    ((own_policy)) && rm -f /usr/sbin/policy-rc.d
    return 0
}

# registry_status [CURL ARGS...] -> the HTTP status of GET https://$REGISTRY/v2/ (000: no answer)
registry_status() {
    curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$REGISTRY_CA" "$@" \
        "https://$REGISTRY/v2/" 2>/dev/null || true
}

# registry_curl ARGS...: curl against the registry, verified against the local CA, with the
# credentials passed on stdin (never on a command line that `ps` shows).
registry_curl() {
    printf 'user = "%s:%s"\n' "$REGISTRY_USER" "$(cat "$REGISTRY_PASSWORD_FILE")" |
        curl -sS --max-time 30 --cacert "$REGISTRY_CA" -K - "$@"
}

# --- the data remotes (data-up, data-down) ------------------------------------------------------
# rclone serve webdav (user + password) and rclone serve http on loopback, the test sshd as an
# SFTP remote, and a local folder: the real remotes of the data tests.

DATA_DIR=$MSO_TEST_DIR/data
WEBDAV_ADDR=127.0.0.1:5081
HTTP_ADDR=127.0.0.1:5082
WEBDAV_USER=mso
WEBDAV_PASSWORD_FILE=$DATA_DIR/webdav.password   # root-only; the env file names only the path
WEBDAV_HTPASSWD=$DATA_DIR/webdav.htpasswd
