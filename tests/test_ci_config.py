"""The pipeline definitions are valid for GitLab (its own CI schema, shipped by check-jsonschema):
the project's .gitlab-ci.yml and the CI/CD component, whose two documents (the `spec:` header and
the jobs) are checked apart, the jobs both as written and with the inputs' defaults put in."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "templates" / "pipeline" / "template.yml"


def check(*files: Path) -> None:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert exe, "check-jsonschema is a test dependency (pip install -e '.[test]')"
    proc = subprocess.run([exe, "--builtin-schema", "vendor.gitlab-ci", *map(str, files)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitlab_ci_matches_gitlab_schema() -> None:
    check(ROOT / ".gitlab-ci.yml")


def component_documents() -> tuple[str, str]:
    head, body = COMPONENT.read_text().split("\n---\n")
    return head, body


def interpolated(body: str, inputs: dict) -> str:
    """The jobs as GitLab sees them: every $[[ inputs.NAME ]] replaced by the input's value."""
    def value(m: re.Match) -> str:
        assert m.group(1) in inputs, f"the jobs use an undeclared input {m.group(1)!r}"
        return str(inputs[m.group(1)])
    return re.sub(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", value, body)


def test_component_matches_gitlab_schema(tmp_path: Path) -> None:
    head, body = component_documents()
    spec = yaml.safe_load(head)["spec"]["inputs"]
    required = {"mso": "git+https://$CI_SERVER_FQDN/mso/mso.git@0.1.0"}
    defaults = {name: v.get("default", required.get(name)) for name, v in spec.items()}
    assert None not in defaults.values(), "a required input without a sample value here"
    files = {"head.yml": head, "jobs.yml": body, "jobs-defaults.yml": interpolated(body, defaults)}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    check(*(tmp_path / n for n in files))


def test_component_stages_and_inputs() -> None:
    head, body = component_documents()
    jobs = yaml.safe_load(interpolated(body, {k: "x" for k in yaml.safe_load(head)["spec"]["inputs"]}))
    assert jobs["stages"] == ["validate", "plan", "build", "run", "publish", "pages"]
    used = set(re.findall(r"\$\[\[\s*inputs\.([\w-]+)", body))
    assert used == set(yaml.safe_load(head)["spec"]["inputs"]), "declared inputs all used, and only those"
    assert jobs["mso-publish"]["resource_group"].startswith("mso-publish-")
    assert jobs["pages"]["artifacts"]["paths"] == ["public"]
    assert jobs["mso-book-preview"]["environment"]["url"] == "$MSO_BOOK_PREVIEW"


def test_the_project_pipeline_is_the_component_of_the_same_commit() -> None:
    include = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())["include"]
    assert include[0]["component"] == "$CI_SERVER_FQDN/$CI_PROJECT_PATH/pipeline@$CI_COMMIT_SHA"
