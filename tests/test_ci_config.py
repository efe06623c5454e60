"""The pipeline definition is valid for GitLab (its own CI schema, shipped by check-jsonschema)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gitlab_ci_matches_gitlab_schema() -> None:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert exe, "check-jsonschema is a test dependency (pip install -e '.[test]')"
    proc = subprocess.run([exe, "--builtin-schema", "vendor.gitlab-ci", str(ROOT / ".gitlab-ci.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
