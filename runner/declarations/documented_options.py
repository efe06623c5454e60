"""The schedulers' complete documented option lists, as data: what resources.slurm and
resources.pbs may name. scheduler_options.py decides which of them mso keeps for itself."""

from __future__ import annotations

# Every long option of sbatch(1), Slurm 22.05 (`man sbatch` of Slurm 22.05.8, section OPTIONS),
# without `--`. Short-only spellings (-A, -N, ...) are the same options under these names.
SBATCH = frozenset({
    "account", "acctg-freq", "array", "batch", "bb", "bbf", "begin", "chdir", "cluster-constraint",
    "clusters", "comment", "constraint", "container", "contiguous", "core-spec", "cores-per-socket",
    "cpu-freq", "cpus-per-gpu", "cpus-per-task", "deadline", "delay-boot", "dependency",
    "distribution", "error", "exclude", "exclusive", "export", "export-file", "extra-node-info",
    "get-user-env", "gid", "gpu-bind", "gpu-freq", "gpus", "gpus-per-node", "gpus-per-socket",
    "gpus-per-task", "gres", "gres-flags", "help", "hint", "hold", "ignore-pbs", "input", "job-name",
    "kill-on-invalid-dep", "licenses", "mail-type", "mail-user", "mcs-label", "mem", "mem-bind",
    "mem-per-cpu", "mem-per-gpu", "mincpus", "network", "nice", "no-kill", "no-requeue", "nodefile",
    "nodelist", "nodes", "ntasks", "ntasks-per-core", "ntasks-per-gpu", "ntasks-per-node",
    "ntasks-per-socket", "open-mode", "output", "overcommit", "oversubscribe", "parsable",
    "partition", "power", "prefer", "priority", "profile", "propagate", "qos", "quiet", "reboot",
    "requeue", "reservation", "signal", "sockets-per-node", "spread-job", "switches", "test-only",
    "thread-spec", "threads-per-core", "time", "time-min", "tmp", "uid", "usage", "use-min-nodes",
    "verbose", "version", "wait", "wait-all-nodes", "wckey", "wrap",
})

# PBS Professional / OpenPBS qsub(1B) (PBS Professional 2021.1 Reference Guide, "qsub"; OpenPBS
# 23.06 man page), by a readable name -> the directive each becomes. Job-wide `-l` resources are
# the built-in ones of the Reference Guide's "Resources" chapter; `-W` are its job attributes.
QSUB_PBS = {
    # qsub(1B) options
    "execution-time": "-a {}", "account": "-A {}", "checkpoint": "-c {}", "directive-prefix": "-C {}",
    "error": "-e {}", "foreground": "-f", "hold": "-h", "interactive": "-I", "join": "-j {}",
    "array": "-J {}", "keep": "-k {}", "mail-points": "-m {}", "mail-users": "-M {}",
    "job-name": "-N {}", "output": "-o {}", "priority": "-p {}", "project": "-P {}", "queue": "-q {}",
    "rerunnable": "-r {}", "remove": "-R {}", "shell": "-S {}", "user-list": "-u {}",
    "export": "-v {}", "export-all": "-V", "x11": "-X", "no-job-id": "-z",
    # -l job-wide resources
    "walltime": "-l walltime={}", "select": "-l select={}", "place": "-l place={}",
    "cput": "-l cput={}", "pcput": "-l pcput={}", "mem": "-l mem={}", "pmem": "-l pmem={}",
    "vmem": "-l vmem={}", "pvmem": "-l pvmem={}", "ncpus": "-l ncpus={}", "nodes": "-l nodes={}",
    "software": "-l software={}", "file": "-l file={}", "nice": "-l nice={}", "site": "-l site={}",
    "min-walltime": "-l min_walltime={}", "max-walltime": "-l max_walltime={}",
    "preempt-targets": "-l preempt_targets={}",
    # -W job attributes
    "block": "-W block={}", "depend": "-W depend={}", "group-list": "-W group_list={}",
    "max-run-subjobs": "-W max_run_subjobs={}", "release-nodes-on-stageout":
    "-W release_nodes_on_stageout={}", "run-count": "-W run_count={}", "sandbox": "-W sandbox={}",
    "stagein": "-W stagein={}", "stageout": "-W stageout={}", "umask": "-W umask={}",
    "tolerate-node-failures": "-W tolerate_node_failures={}",
}
# Built-in host-level resources of PBS Professional: they go into the select chunk.
QSUB_PBS_CHUNK = frozenset({"mpiprocs", "ompthreads", "host", "vnode", "vntype", "arch", "ngpus",
                            "accelerator", "accelerator-model", "accelerator-memory", "naccelerators"})

# Torque 6 qsub(1) (Adaptive Computing, Torque 6.1 Administrator Guide, "qsub"; its synopsis is that
# of qsub(1B) of torque-client 2.4 plus the later -F and -L), likewise; `-l`
# are its "Requesting resources" table, `-W` its additional attributes.
QSUB_TORQUE = {
    # qsub(1) options
    "execution-time": "-a {}", "account": "-A {}", "server-retry": "-b {}", "checkpoint": "-c {}",
    "directive-prefix": "-C {}", "workdir": "-d {}", "root-dir": "-D {}", "error": "-e {}",
    "fault-tolerant": "-f", "arguments": "-F {}", "hold": "-h", "interactive": "-I", "join": "-j {}",
    "keep": "-k {}", "numa": "-L {}", "mail-points": "-m {}", "mail-users": "-M {}",
    "node-exclusive": "-n", "job-name": "-N {}", "output": "-o {}", "priority": "-p {}",
    "proxy-user": "-P {}", "queue": "-q {}", "rerunnable": "-r {}", "shell": "-S {}",
    "array": "-t {}", "job-script": "-T {}", "user-list": "-u {}", "export": "-v {}",
    "export-all": "-V", "working-dir": "-w {}", "interactive-script": "-x", "x11": "-X",
    "no-job-id": "-z",
    # -l resources
    "walltime": "-l walltime={}", "nodes": "-l nodes={}", "mem": "-l mem={}", "ncpus": "-l ncpus={}",
    "procs": "-l procs={}", "arch": "-l arch={}", "cput": "-l cput={}", "pcput": "-l pcput={}",
    "epilogue": "-l epilogue={}", "prologue": "-l prologue={}", "feature": "-l feature={}",
    "file": "-l file={}", "host": "-l host={}", "naccesspolicy": "-l naccesspolicy={}",
    "nice": "-l nice={}", "opsys": "-l opsys={}", "other": "-l other={}", "pmem": "-l pmem={}",
    "pvmem": "-l pvmem={}", "vmem": "-l vmem={}", "qos": "-l qos={}", "gres": "-l gres={}",
    "software": "-l software={}", "trl": "-l trl={}", "gpus": "-l gpus={}", "mics": "-l mics={}",
    "reqattr": "-l reqattr={}", "signal": "-l signal={}", "partition": "-l partition={}",
    # -W attributes
    "depend": "-W depend={}", "group-list": "-W group_list={}", "stagein": "-W stagein={}",
    "stageout": "-W stageout={}", "umask": "-W umask={}", "job-radix": "-W job_radix={}",
}
