#!/usr/bin/env bash
# A real single-node Slurm on this machine, for the test suite and CI.
#
#   tests/slurm/local-slurm.sh up       install what is missing, (re)write the configs, start the daemons,
#                                       wait for the node, run a smoke test (idempotent; fast when already up)
#   tests/slurm/local-slurm.sh down     stop every daemon this script started, by its PID file
#   tests/slurm/local-slurm.sh status   print the daemons, the controller and the node; exit 0 when usable
#
# Runs as root on Debian 12 (packages slurm-wlm 22.05, munge, MariaDB 10.11) without systemd or cgroups.
# One node "localhost" with CPUs=max(nproc, 4), a fake GPU gres typed "a100" (File=/dev/null) and partitions
# "main" (default) and "gpu": enough for the GPU variants that profiles/slurm/config.yaml documents (e.g.
# --gpus=a100:1 --cpus-per-gpu=4 -p gpu) to run as written. Accounting goes through MariaDB + slurmdbd,
# because the Snakemake Slurm plugin polls job states with sacct. See docs/cluster.md and
# ../shared/spec/workflow.md section 4.
#
# Knobs (environment variables):
#   RNAMSM_SLURM_ACCOUNTING=1      0 = no MariaDB/slurmdbd (then the Snakemake profile needs
#                                  `slurm-status-command: squeue`, and sacct does not work)
#   RNAMSM_SLURM_GPUS=1            number of fake GPUs on the node (0..5; 0 = node without gres)
#   RNAMSM_SLURM_GPU_TYPE=a100     the GPU type name (what `--gpus=<type>:1` must match)
#   RNAMSM_SLURM_CPUS=             node CPUs (default: max(nproc, 4); more than nproc overcommits the cores)
#   RNAMSM_SLURM_MEM_MB=           node RealMemory in MB (default: min(20000, 80% of MemTotal))
#   RNAMSM_SLURM_PARTITIONS="main gpu"   partitions, all on the one node; the first one is the default
#   RNAMSM_SLURM_DB_PORT=3306      TCP port of the private MariaDB (bound to 127.0.0.1)
#   RNAMSM_SLURM_TIMEOUT=60        seconds to wait for each daemon / the node / the smoke jobs

set -euo pipefail

ACCOUNTING=${RNAMSM_SLURM_ACCOUNTING:-1}
GPUS=${RNAMSM_SLURM_GPUS:-1}
GPU_TYPE=${RNAMSM_SLURM_GPU_TYPE:-a100}
CPUS=${RNAMSM_SLURM_CPUS:-}
MEM_MB=${RNAMSM_SLURM_MEM_MB:-}
PARTITIONS=${RNAMSM_SLURM_PARTITIONS:-main gpu}
DB_PORT=${RNAMSM_SLURM_DB_PORT:-3306}
TIMEOUT=${RNAMSM_SLURM_TIMEOUT:-60}

NODE=localhost
SLURM_ETC=/etc/slurm
RUN_DIR=/run/slurm
LOG_DIR=/var/log/slurm
SPOOL_DIR=/var/lib/slurm
# State owned by this script: the private MariaDB (datadir, socket, PID file) and its slurm password.
STATE_DIR=/var/lib/rnamsm-slurm
DB_DATADIR=$STATE_DIR/mysql
DB_RUN_DIR=/run/rnamsm-slurm-db
DB_SOCKET=$DB_RUN_DIR/mysqld.sock
DB_PIDFILE=$DB_RUN_DIR/mysqld.pid
DB_NAME=slurm_acct_db
MUNGE_PIDFILE=/run/munge/munged.pid
# Up to five fake GPUs: each one needs its own device file.
GPU_FILES=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom)

log() { printf 'local-slurm: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_root() {
    if [[ $EUID -ne 0 ]]; then
        log "ERROR: '$1' must run as root: it installs Debian packages and starts system daemons"
        log "       (munged, mariadbd, slurmdbd, slurmctld, slurmd). Try: sudo $0 $1"
        exit 2
    fi
}

check_platform() {
    command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 only"
    local version
    version=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo unknown)
    [[ $version == 12 ]] || log "warning: written for Debian 12, found /etc/debian_version=$version"
}

check_knobs() {
    [[ $ACCOUNTING == 0 || $ACCOUNTING == 1 ]] || die "RNAMSM_SLURM_ACCOUNTING must be 0 or 1, got '$ACCOUNTING'"
    if ! [[ $GPUS =~ ^[0-9]+$ ]] || ((GPUS > ${#GPU_FILES[@]})); then
        die "RNAMSM_SLURM_GPUS must be 0..${#GPU_FILES[@]}, got '$GPUS'"
    fi
    [[ $GPU_TYPE =~ ^[A-Za-z0-9_]+$ ]] || die "RNAMSM_SLURM_GPU_TYPE must be alphanumeric, got '$GPU_TYPE'"
    [[ -z $MEM_MB || $MEM_MB =~ ^[0-9]+$ ]] || die "RNAMSM_SLURM_MEM_MB must be a number of MB, got '$MEM_MB'"
    [[ -z $CPUS || $CPUS =~ ^[1-9][0-9]*$ ]] || die "RNAMSM_SLURM_CPUS must be a positive number, got '$CPUS'"
    [[ -n ${PARTITIONS// /} ]] || die "RNAMSM_SLURM_PARTITIONS must name at least one partition"
}

# ---------------------------------------------------------------------------------------------------
# Packages

is_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

install_packages() {
    local wanted=(munge slurmctld slurmd slurm-client) missing=() pkg
    if ((ACCOUNTING)); then
        wanted+=(slurmdbd mariadb-server)
    fi
    for pkg in "${wanted[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    # The packages must not start services themselves: this script starts and tracks every daemon.
    local own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -q -y --no-install-recommends)
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >/dev/null; then
        log "install failed; refreshing the package lists once and retrying"
        apt-get -o DPkg::Lock::Timeout=300 -q update >/dev/null
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >/dev/null
    fi
    if ((own_policy)); then
        rm -f /usr/sbin/policy-rc.d
    fi
}

# ---------------------------------------------------------------------------------------------------
# Configuration

# The node's CPUs: at least 4, so that a job with --cpus-per-gpu=4 fits on a small machine.
node_cpus() {
    if [[ -n $CPUS ]]; then
        echo "$CPUS"
        return
    fi
    local cores
    cores=$(nproc)
    echo $((cores > 4 ? cores : 4))
}

node_memory_mb() {
    if [[ -n $MEM_MB ]]; then
        echo "$MEM_MB"
        return
    fi
    local total_kb
    total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    local mb=$((total_kb * 8 / 10 / 1024))
    echo $((mb < 20000 ? mb : 20000))
}

# write_if_changed PATH MODE OWNER: stdin -> PATH when the content differs; returns 0 when written.
write_if_changed() {
    local path=$1 mode=$2 owner=$3 tmp
    tmp=$(mktemp "$path.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    if [[ -f $path ]] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        chmod "$mode" "$path"
        chown "$owner" "$path"
        return 1
    fi
    mv -f "$tmp" "$path"
    log "wrote $path"
    return 0
}

slurm_conf() {
    local gres="" part default=YES
    if ((GPUS > 0)); then
        gres=" Gres=gpu:$GPU_TYPE:$GPUS"
    fi
    cat <<EOF
# Written by tests/slurm/local-slurm.sh (rnamsm test cluster); rewritten on every 'up'.
ClusterName=rnamsm
SlurmctldHost=$NODE
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
StateSaveLocation=$SPOOL_DIR/slurmctld
SlurmdSpoolDir=$SPOOL_DIR/slurmd
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# No cgroups (no systemd here).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
# Memory is enforced without cgroups: every 2 s the accounting plugin reads each step's memory (PSS, so
# shared pages count once) and kills a step over its job's --mem, as on a production cluster.
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill,UsePss
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job without --mem gets the whole node and jobs run one at a time.
DefMemPerCPU=1000
# Finished jobs stay visible to squeue/scontrol for 5 minutes.
MinJobAge=300
InactiveLimit=0
KillWait=30
Waittime=0
SlurmctldTimeout=120
SlurmdTimeout=300
GresTypes=gpu
# The node may declare more CPUs than the machine has (node_cpus); slurmd must not drain it for that.
SlurmdParameters=config_overrides
EOF
    if ((ACCOUNTING)); then
        cat <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$NODE
AccountingStorageTRES=gres/gpu
EOF
    else
        echo "AccountingStorageType=accounting_storage/none"
    fi
    echo "NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(node_cpus) RealMemory=$(node_memory_mb)$gres State=UNKNOWN"
    for part in $PARTITIONS; do
        echo "PartitionName=$part Nodes=$NODE Default=$default MaxTime=INFINITE State=UP"
        default=NO
    done
}

gres_conf() {
    echo "# Written by tests/slurm/local-slurm.sh: fake GPUs backed by harmless device files."
    echo "AutoDetect=off"
    local i
    for ((i = 0; i < GPUS; i++)); do
        echo "NodeName=$NODE Name=gpu Type=$GPU_TYPE File=${GPU_FILES[i]}"
    done
}

db_password() {
    local file=$STATE_DIR/db-password
    if [[ ! -s $file ]]; then
        (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$file")
    fi
    cat "$file"
}

slurmdbd_conf() {
    cat <<EOF
# Written by tests/slurm/local-slurm.sh (rnamsm test cluster).
AuthType=auth/munge
DbdHost=$NODE
DbdPort=6819
SlurmUser=slurm
LogFile=$LOG_DIR/slurmdbd.log
PidFile=$RUN_DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$(db_password)
StorageLoc=$DB_NAME
EOF
}

prepare_dirs() {
    id slurm >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin slurm
    mkdir -p "$SLURM_ETC" "$STATE_DIR"
    chmod 755 "$STATE_DIR"  # the mysql user must reach the datadir; the password file is 0600
    install -d -o slurm -g slurm -m 755 "$RUN_DIR" "$LOG_DIR" "$SPOOL_DIR" \
        "$SPOOL_DIR/slurmctld" "$SPOOL_DIR/slurmd"
}

# Sets CONF_CHANGED=1 (slurm.conf/gres.conf) and DBD_CHANGED=1 (slurmdbd.conf) when rewritten.
write_configs() {
    CONF_CHANGED=0
    DBD_CHANGED=0
    slurm_conf | write_if_changed "$SLURM_ETC/slurm.conf" 644 root:root && CONF_CHANGED=1
    gres_conf | write_if_changed "$SLURM_ETC/gres.conf" 644 root:root && CONF_CHANGED=1
    if ((ACCOUNTING)); then
        slurmdbd_conf | write_if_changed "$SLURM_ETC/slurmdbd.conf" 600 slurm:slurm && DBD_CHANGED=1
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------------
# Daemons (tracked by PID file only; this script never kills by name)

# process_gone PID: true when PID has exited (a zombie counts: its reaper is not this script).
process_gone() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ ${stat%% *} == Z ]]
}

# pid_alive PIDFILE NAME: prints the PID when the file names a live process called NAME.
pid_alive() {
    local pidfile=$1 name=$2 pid
    [[ -r $pidfile ]] || return 1
    pid=$(tr -dc 0-9 <"$pidfile")
    [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]] || return 1
    process_gone "$pid" && return 1
    echo "$pid"
}

# stop_daemon PIDFILE NAME: TERM, wait up to 15 s, then KILL.
stop_daemon() {
    local pidfile=$1 name=$2 pid i
    if ! pid=$(pid_alive "$pidfile" "$name"); then
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        process_gone "$pid" && return 0
        sleep 0.1
    done
    log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
}

# wait_until DESCRIPTION LOGFILE COMMAND...: polls COMMAND every 0.2 s for up to TIMEOUT seconds.
wait_until() {
    local what=$1 logfile=$2 deadline=$((SECONDS + TIMEOUT))
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "ERROR: timed out after ${TIMEOUT}s waiting for $what"
            [[ -n $logfile && -r $logfile ]] && { log "last lines of $logfile:"; tail -n 20 "$logfile" >&2; }
            exit 1
        fi
        sleep 0.2
    done
}

# Run a daemon detached from this shell (own session, no inherited stdio).
spawn() {
    local logfile=$1
    shift
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
}

munge_works() { munge -n | unmunge; }

start_munge() {
    if pid_alive "$MUNGE_PIDFILE" munged >/dev/null; then
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating the munge key"
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    log "starting munged"
    spawn /var/log/munge/munged.out runuser -u munge -- /usr/sbin/munged
    wait_until "munged" /var/log/munge/munged.log munge_works
}

db_ping() { mariadb-admin --no-defaults --socket="$DB_SOCKET" -u root ping; }

start_mariadb() {
    if pid_alive "$DB_PIDFILE" mariadbd >/dev/null; then
        return 0
    fi
    install -d -o mysql -g mysql -m 755 "$DB_RUN_DIR"
    if [[ ! -d $DB_DATADIR/mysql ]]; then
        log "initialising the MariaDB datadir $DB_DATADIR"
        install -d -o mysql -g mysql -m 750 "$DB_DATADIR"
        mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DATADIR" \
            --auth-root-authentication-method=socket --skip-test-db >"$LOG_DIR/mariadb-install.log" 2>&1 \
            || die "mariadb-install-db failed; see $LOG_DIR/mariadb-install.log"
    fi
    log "starting mariadbd (127.0.0.1:$DB_PORT)"
    spawn "$LOG_DIR/mariadb.out" mariadbd --no-defaults --user=mysql --datadir="$DB_DATADIR" \
        --socket="$DB_SOCKET" --pid-file="$DB_PIDFILE" --bind-address=127.0.0.1 --port="$DB_PORT" \
        --skip-name-resolve --log-error="$LOG_DIR/mariadb.log" --innodb-buffer-pool-size=64M
    wait_until "mariadbd" "$LOG_DIR/mariadb.log" db_ping
}

# The slurm database user; idempotent, and re-applied so that a new password takes effect.
setup_database() {
    local pass
    pass=$(db_password)
    mariadb --no-defaults --socket="$DB_SOCKET" -u root <<EOF
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$pass';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON $DB_NAME.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON $DB_NAME.* TO 'slurm'@'localhost';
EOF
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_slurmdbd() {
    if pid_alive "$RUN_DIR/slurmdbd.pid" slurmdbd >/dev/null; then
        return 0
    fi
    log "starting slurmdbd"
    spawn "$LOG_DIR/slurmdbd.out" slurmdbd
    wait_until "slurmdbd on port 6819" "$LOG_DIR/slurmdbd.log" port_open 6819
}

controller_up() { scontrol ping | grep -q 'is UP'; }

start_slurmctld() {
    if pid_alive "$RUN_DIR/slurmctld.pid" slurmctld >/dev/null; then
        return 0
    fi
    log "starting slurmctld"
    spawn "$LOG_DIR/slurmctld.out" slurmctld -i
    wait_until "slurmctld (scontrol ping)" "$LOG_DIR/slurmctld.log" controller_up
}

start_slurmd() {
    if pid_alive "$RUN_DIR/slurmd.pid" slurmd >/dev/null; then
        return 0
    fi
    log "starting slurmd"
    spawn "$LOG_DIR/slurmd.out" slurmd -N "$NODE"
}

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

node_usable() {
    local state
    state=$(node_state)
    case $state in
        idle | mixed | allocated | completing) return 0 ;;
        drain* | down*)
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
            return 1
            ;;
        *) return 1 ;;
    esac
}

wait_for_node() {
    local deadline=$((SECONDS + TIMEOUT)) state
    until node_usable; do
        if ((SECONDS >= deadline)); then
            state=$(node_state)
            log "ERROR: node $NODE is '${state:-missing}' after ${TIMEOUT}s"
            scontrol show node "$NODE" 2>/dev/null | grep -E 'State=|Reason=' >&2 || true
            tail -n 20 "$LOG_DIR/slurmd.log" >&2 || true
            exit 1
        fi
        sleep 0.3
    done
}

job_finished() { [[ -z $(squeue -h -j "$1" 2>/dev/null) ]]; }

smoke_test() {
    local out job state
    out=$(timeout "$TIMEOUT" srun -t 1 hostname 2>&1) || die "smoke test 'srun hostname' failed: $out"
    job=$(sbatch --parsable -t 1 -o /dev/null -e /dev/null --wrap true) || die "smoke test: sbatch refused a job"
    wait_until "smoke job $job to leave the queue" "$LOG_DIR/slurmctld.log" job_finished "$job"
    state=$(scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)
    [[ $state == JobState=COMPLETED ]] || die "smoke job $job ended with '${state:-unknown state}'"
    log "smoke test passed (srun on $out, sbatch job $job COMPLETED)"
}

# ---------------------------------------------------------------------------------------------------
# Commands

cmd_up() {
    require_root up
    check_platform
    check_knobs
    local start=$SECONDS
    install_packages
    prepare_dirs
    write_configs
    if ((CONF_CHANGED || DBD_CHANGED)); then
        # slurmctld -i starts from the new config; slurmd re-registers with the new node definition.
        stop_daemon "$RUN_DIR/slurmd.pid" slurmd
        stop_daemon "$RUN_DIR/slurmctld.pid" slurmctld
        if ((DBD_CHANGED)); then
            stop_daemon "$RUN_DIR/slurmdbd.pid" slurmdbd
        fi
    fi
    start_munge
    if ((ACCOUNTING)); then
        start_mariadb
        setup_database
        start_slurmdbd
    fi
    start_slurmctld
    start_slurmd
    wait_for_node
    smoke_test
    log "up in $((SECONDS - start)) s: $(sinfo -h -N -o '%N %T cpus=%c mem=%m gres=%G partition=%P' | paste -sd ' ')"
}

cmd_down() {
    require_root down
    stop_daemon "$RUN_DIR/slurmd.pid" slurmd
    stop_daemon "$RUN_DIR/slurmctld.pid" slurmctld
    stop_daemon "$RUN_DIR/slurmdbd.pid" slurmdbd
    stop_daemon "$DB_PIDFILE" mariadbd
    stop_daemon "$MUNGE_PIDFILE" munged
    log "down"
}

cmd_status() {
    local ok=0 pid entry pidfile name
    for entry in "$MUNGE_PIDFILE:munged" "$DB_PIDFILE:mariadbd" "$RUN_DIR/slurmdbd.pid:slurmdbd" \
        "$RUN_DIR/slurmctld.pid:slurmctld" "$RUN_DIR/slurmd.pid:slurmd"; do
        pidfile=${entry%%:*}
        name=${entry##*:}
        if pid=$(pid_alive "$pidfile" "$name"); then
            printf '%-10s running (pid %s)\n' "$name" "$pid"
        elif [[ -e $pidfile && ! -r $pidfile ]]; then
            printf '%-10s unknown (cannot read %s)\n' "$name" "$pidfile"
        else
            printf '%-10s stopped\n' "$name"
        fi
    done
    if command -v scontrol >/dev/null && timeout 15 scontrol ping 2>/dev/null | grep -q 'is UP'; then
        echo "controller UP"
        sinfo -N -o '%N %T %c %m %G %P' 2>/dev/null || true
        case $(node_state) in idle | mixed | allocated | completing) ;; *) ok=1 ;; esac
    else
        echo "controller DOWN"
        ok=1
    fi
    return "$ok"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 {up|down|status}" >&2
        exit 2
        ;;
esac
