"""The pipeline's build job where the job's image has no image builder: it ends with a warning
(an allowed failure), and the pipeline goes on. The builders installed here are hidden from the
job by a mount namespace of its own (each bound over by /dev/null), so gitlab-ci-local, the job's
shell and mso all see a machine without one."""

from __future__ import annotations

import os
import shutil

import pytest

from runner.containers import builders
from tests.conftest import require
from tests.pipeline.conftest import job_log, pipeline

pytestmark = pytest.mark.integration


def without_builders() -> tuple[str, ...]:
    """A command prefix that runs the rest in a mount namespace where no builder is installed."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None, "unshare as root",
            "run the tests as root, as scripts/test does")
    found = {shutil.which(name) for name in builders.NAMES} | {builders.CH_IMAGE}
    hide = " && ".join(f"mount --bind /dev/null {path}" for path in sorted(p for p in found if p
                                                                         and os.path.exists(p)))
    return ("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            f'{hide or "true"} && exec "$@"', "sh")


def test_without_an_image_builder_the_build_job_warns_and_the_pipeline_goes_on(project) -> None:
    work, _ = project
    proc = pipeline(work, variables={"MSO_PUSH_URL": str(work.parent / "remote.git")},
                    prefix=without_builders())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    log = job_log(work, "mso-build")
    assert "mso: no builder for a Dockerfile is installed here" in log, log
    assert "mso-build: no image builder in this job's image" in log, log
    assert "WARN  mso-build" in out and "WARN 42" in out, out        # an allowed failure
    assert "Traceback" not in log
    for job in ("mso-run", "mso-publish", "pages"):                  # and on it goes
        assert f"PASS  {job}" in out, out
