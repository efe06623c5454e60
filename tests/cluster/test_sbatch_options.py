"""Every sbatch(1) option mso passes through (resources.slurm) renders into a batch script that
`sbatch --test-only` on the REAL test cluster (.ci/services/cluster-up) takes: one remote shell
runs one --test-only per option. An option this one-node cluster cannot satisfy (no GPUs, no
licenses, no node features, ...) passes when sbatch's refusal is about its VALUE, never an unknown
option; REFUSED says, per option, what sbatch answers then.

Skipped with the reason when the cluster is not up (`cluster_env`); failed instead under CI=true.
"""

from __future__ import annotations

import re
import secrets

import pytest

from runner.declarations.models import EnvRef, Infrastructure, Resources, freeze
from runner.declarations.scheduler_options import SLURM
from runner.schedulers import slurm

pytestmark = pytest.mark.integration

KEY_VAR, KNOWN_VAR = "MSO_T_OPTS_SSH_KEY", "MSO_T_OPTS_KNOWN_HOSTS"

# A valid value for each option (True: a flag, `--name` alone).
SAMPLES = {
    "acctg-freq": "task=2", "batch": "vm", "bb": "capacity=1G", "bbf": "bb.conf", "begin": "now+60",
    "cluster-constraint": "fast", "clusters": "msotest", "comment": "mso", "constraint": "vm",
    "container": "/tmp", "contiguous": True, "core-spec": 1, "cores-per-socket": 1,
    "cpu-freq": "Low", "cpus-per-gpu": 1, "deadline": "now+1hour", "delay-boot": 1,
    "distribution": "block", "exclude": "vm2", "exclusive": True, "extra-node-info": "1:1:1",
    "get-user-env": True, "gpu-bind": "closest", "gpu-freq": "low", "gpus-per-node": 1,
    "gpus-per-socket": 1, "gpus-per-task": 1, "gres-flags": "enforce-binding",
    "hint": "nomultithread", "ignore-pbs": True, "input": "/dev/null", "licenses": "matlab:1",
    "mail-type": "END", "mail-user": "msotest@localhost", "mcs-label": "mso", "mem-bind": "local",
    "mem-per-cpu": "64M", "mem-per-gpu": "1G", "mincpus": 1, "network": "ib", "nice": 10,
    "no-kill": True, "no-requeue": True, "nodefile": "nodes.txt", "nodelist": "vm",
    "ntasks-per-core": 1, "ntasks-per-gpu": 1, "ntasks-per-node": 1, "ntasks-per-socket": 1,
    "open-mode": "append", "overcommit": True, "oversubscribe": True, "power": "level",
    "prefer": "vm", "priority": 10, "profile": "task", "propagate": "STACK", "qos": "normal",
    "quiet": True, "reboot": True, "requeue": True, "reservation": "mso-none",
    "signal": "B:USR1@60", "sockets-per-node": 1, "spread-job": True, "switches": 1,
    "thread-spec": 1, "threads-per-core": 1, "time-min": "00:05:00", "tmp": "0",
    "use-min-nodes": True, "verbose": True, "wait-all-nodes": 1, "wckey": "mso",
}
# Options the test cluster cannot satisfy -> what sbatch says about the value (not the option).
_NO_GPUS = "Invalid generic resource (gres) specification"   # the node has no GPUs (GresTypes unset)
REFUSED = {
    "batch": "--batch option is invalid",               # the node has no features
    "constraint": "Invalid feature specification",      # likewise
    "prefer": "Invalid preferred feature specification",  # likewise
    "exclude": "Invalid node name specified",           # vm2 does not exist; vm is the only node
    "licenses": "Invalid license specification",        # the cluster has no licenses
    "reservation": "Requested reservation is invalid",  # there is no reservation
    "reboot": "only allowed for admins",                # msotest is no Slurm admin
    "ntasks-per-gpu": "needs either a GRES GPU specification",
    **{name: _NO_GPUS for name in ("cpus-per-gpu", "gpus-per-node", "gpus-per-socket",
                                   "gpus-per-task", "mem-per-gpu")},
}


def test_every_passed_option_has_a_sample() -> None:
    assert set(SAMPLES) == SLURM


def remote_script(name: str, infra: Infrastructure) -> str:
    """The batch script for one option: mso's own directives plus the option, as rendered."""
    lines = slurm.directives(infra, Resources(slurm=freeze({name: SAMPLES[name]})))
    return "#!/bin/bash\n" + "".join(f"#SBATCH {line}\n" for line in lines) + "true\n"


def probe_all(infra: Infrastructure, folder: str) -> str:
    """One shell: write each option's script, run `sbatch --test-only` on it, mark its answer."""
    parts = [f"mkdir -p {folder} && cd {folder} && echo vm > nodes.txt && echo '#BB capacity=1G' > bb.conf || exit 1"]
    for name in sorted(SAMPLES):
        parts.append(f"cat > {name}.sh <<'MSO_EOF'\n{remote_script(name, infra)}MSO_EOF\n"
                     f"echo '@@ {name}'; sbatch --test-only {name}.sh 2>&1; echo \"@@ rc=$?\"")
    return "\n".join(parts + [f"cd && rm -rf {folder}"]) + "\n"


def test_every_passed_sbatch_option_is_taken_by_sbatch(cluster_env, monkeypatch) -> None:
    from runner.schedulers.context import Context
    monkeypatch.setenv(KEY_VAR, cluster_env["MSO_TEST_SSH_KEY_FILE"])
    monkeypatch.setenv(KNOWN_VAR, cluster_env["MSO_TEST_KNOWN_HOSTS_FILE"])
    host = {"host": cluster_env["MSO_TEST_SSH_HOST"], "port": int(cluster_env["MSO_TEST_SSH_PORT"]),
            "user": cluster_env["MSO_TEST_SSH_USER"], "account": cluster_env["MSO_TEST_SLURM_ACCOUNT"]}
    infra = Infrastructure(name="test-cluster", kind="slurm", key=EnvRef(KEY_VAR),
                           known_hosts=EnvRef(KNOWN_VAR), partition="debug", **host)
    transport = Context().transport(infra)
    try:
        result = transport.run("bash -s", stdin=probe_all(infra, f"mso-opts-{secrets.token_hex(4)}"),
                               timeout=300)
    finally:
        transport.close()
    answers = dict(re.findall(r"^@@ (\S+)\n(.*?)^@@ rc=", result.stdout, re.S | re.M))
    codes = dict(zip(sorted(SAMPLES), re.findall(r"^@@ rc=(\d+)", result.stdout, re.M)))
    assert set(answers) == set(SAMPLES), result
    wrong = {}
    for name, text in answers.items():
        if re.search(r"unrecognized option|invalid option|unknown option", text, re.I):
            wrong[name] = text
        elif name in REFUSED:
            if codes[name] == "0" or REFUSED[name] not in text:
                wrong[name] = text
        elif codes[name] != "0" or "to start at" not in text:
            wrong[name] = text
    assert not wrong, "\n".join(f"{k} (rc={codes[k]}): {v.strip()}" for k, v in sorted(wrong.items()))
