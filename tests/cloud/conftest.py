"""The `openstack` fixture: a stand-in OpenStack cloud (tests/cloud/openstack_standin) whose
servers are real sshds on 127.0.0.1, logged in to as the test cluster's unprivileged user."""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Iterator

import pytest

from tests.cloud.openstack_standin import SSHD, Cloud
from tests.conftest import CLUSTER_ENV, unavailable

DEFAULT_LOGIN_USER = "msotest"


def login_user() -> str:
    """MSO_TEST_SSH_USER from the test cluster's facts (.ci/services/cluster-up writes them)."""
    if not CLUSTER_ENV.exists():
        return DEFAULT_LOGIN_USER
    facts = dict(line.split("=", 1) for line in CLUSTER_ENV.read_text().splitlines()
                 if "=" in line)
    return facts.get("MSO_TEST_SSH_USER", DEFAULT_LOGIN_USER).strip()


def _usable() -> str:
    """The login user, once everything a stand-in server needs is there (else skip)."""
    if os.geteuid() != 0:
        unavailable("the OpenStack stand-in runs an sshd per server, which needs root")
    if not SSHD.exists() or not shutil.which("ssh-keygen"):
        unavailable(f"the OpenStack stand-in needs {SSHD} and ssh-keygen (openssh-server)")
    user = login_user()
    try:
        pwd.getpwnam(user)
    except KeyError:
        unavailable(f"the test cluster's user {user} does not exist (.ci/services/cluster-up)")
    return user


@pytest.fixture
def openstack() -> Iterator[Cloud]:
    """A stand-in OpenStack cloud, served for this test; every server left is deleted after."""
    with Cloud(_usable()) as cloud:
        yield cloud
