"""The catalogue's checks: an rclone remote not configured by its credentials, a folder that
differs from its manifest (at `validate --data` and at plan time), a public dataset produced from
private data, and the warning for a remote folder with no manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from runner.declarations import crossref, datarules, manifest, repository
from tests.conftest import mso

A, B = hashlib.sha256(b"a\n").hexdigest(), hashlib.sha256(b"b\n").hexdigest()
HEAD = "name: {name}\ndescription: d\n"


def declare(repo: Path, name: str, body: str) -> None:
    (repo / "datasets" / f"{name}.yaml").write_text(HEAD.format(name=name) + body)


def errors(repo: Path) -> list[str]:
    return [e.render() for e in repository.load(repo).errors]


def use(repo: Path, dataset: str, exp: str = "heat-sweep") -> None:
    path = repo / "experiments" / f"{exp}.yaml"
    path.write_text(path.read_text().replace("initial: gaussian-bump", f"initial: {dataset}"))


def test_remote_locations_need_their_type_under_credentials(example: Path) -> None:
    declare(example, "ok", "location: dav:x/y.json\n"
            "credentials: {RCLONE_CONFIG_DAV_TYPE: webdav, RCLONE_CONFIG_DAV_PASS: {env: P}}\n")
    declare(example, "secret-only", "location: dav:x/y.json\n"
            "credentials: {RCLONE_CONFIG_DAV_PASS: {env: P}}\n")
    declare(example, "other-remote", "location: 'lab:x/'\n"
            "credentials: {RCLONE_CONFIG_DAV_TYPE: webdav}\n")
    declare(example, "url", "location: https://example.org/x.json\n")
    found = errors(example)
    assert [e.split(":")[0] for e in found] == ["datasets/other-remote.yaml",
                                                "datasets/secret-only.yaml"]
    assert found[0].startswith("datasets/other-remote.yaml:3:11: location: the rclone remote "
                               "'lab' is not configured: give RCLONE_CONFIG_LAB_TYPE")
    assert "RCLONE_CONFIG_DAV_TYPE" in found[1] and "{env: NAME}" in found[1]


def test_a_remote_name_no_variable_can_carry_is_refused() -> None:
    why = datarules.unconfigured("my-lab:x", {"RCLONE_CONFIG_MY-LAB_TYPE": "local"})
    assert "letters, digits and _ only" in why
    assert datarules.unconfigured("datasets/x.json", {}) == ""
    assert datarules.unconfigured("http://h:80/x", {}) == ""


def test_an_experiments_output_remote_is_checked_too(example: Path) -> None:
    path = example / "experiments" / "heat-sweep.yaml"
    line = path.read_text().count("\n") + 2   # of `remote:`, below the example's own lines
    path.write_text(path.read_text() + "outputs:\n  remote: store:runs\n"
                    "  credentials: {RCLONE_CONFIG_DAV_TYPE: webdav}\n")
    [error] = errors(example)
    assert error.startswith(f"experiments/heat-sweep.yaml:{line}:11: outputs.remote: the rclone "
                            "remote 'store' is not configured"), error
    path.write_text(path.read_text().replace("RCLONE_CONFIG_DAV_TYPE", "RCLONE_CONFIG_STORE_TYPE"))
    assert errors(example) == []


def test_a_public_dataset_made_from_private_data_is_refused(example: Path) -> None:
    ds = example / "datasets" / "gaussian-bump.yaml"
    ds.write_text(ds.read_text().replace("visibility: public", "visibility: private"))
    made = ("location: dav:out/x.json\ncredentials: {RCLONE_CONFIG_DAV_TYPE: webdav}\n"
            "produced_by: {experiment: heat-sweep, run: r1}\n")
    declare(example, "made", made)
    [error] = errors(example)
    assert error == ("datasets/made.yaml:5:27: produced_by.experiment: dataset 'made' is public, "
                     "but experiment 'heat-sweep' made it from private data (gaussian-bump) (set "
                     "`visibility: private` (with its `owners` and `access`))")
    declare(example, "made", made + "visibility: public\n")
    [error] = errors(example)
    assert error.startswith("datasets/made.yaml:6:13: visibility: dataset 'made' is public")
    declare(example, "made", made + "visibility: private\n")
    assert errors(example) == []
    result = mso("validate", repo=example, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_says_which_public_dataset_leaks(example: Path) -> None:
    ds = example / "datasets" / "gaussian-bump.yaml"
    ds.write_text(ds.read_text().replace("visibility: public", "visibility: private"))
    declare(example, "made", "location: dav:out/x.json\ncredentials: {RCLONE_CONFIG_DAV_TYPE: "
            "webdav}\nproduced_by: {experiment: heat-sweep-cluster, run: r1}\n")
    result = mso("validate", repo=example, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("datasets/made.yaml:5:27: produced_by.experiment: dataset 'made' is "
                           "public, but experiment 'heat-sweep-cluster' made it from private data")


def test_a_remote_folder_without_manifest_is_a_warning_at_plan(example: Path) -> None:
    declare(example, "far", "location: 'dav:fields/'\ncredentials: {RCLONE_CONFIG_DAV_TYPE: webdav}\n")
    use(example, "far")
    [warning] = datarules.warnings(repository.load_valid(example))
    assert warning == ("experiments/heat-sweep.yaml: warning: dataset 'far' is a folder on a "
                       "remote with no manifest (datasets/far.yaml), so no host's cache can know "
                       "it beforehand: it moves, and is hashed, on every run; `mso dataset add "
                       "dav:fields/ --name far --force` writes one")
    assert warning in crossref.warnings(repository.load_valid(example))
    result = mso("plan", "heat-sweep", repo=example, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert warning in result.stderr
    declare(example, "far", "location: 'dav:fields/'\ncredentials: {RCLONE_CONFIG_DAV_TYPE: "
            f"webdav}}\nmanifest: {{a.txt: {A}}}\n")
    assert datarules.warnings(repository.load_valid(example)) == []


def test_a_remote_file_without_sha256_is_a_warning_too(example: Path) -> None:
    declare(example, "far", "location: 'dav:fields/a.bin'\ncredentials: {RCLONE_CONFIG_DAV_TYPE: webdav}\n")
    use(example, "far")
    [warning] = datarules.warnings(repository.load_valid(example))
    assert "dataset 'far' is a file on a remote with no sha256 (datasets/far.yaml)" in warning
    assert warning.endswith("`mso dataset add dav:fields/a.bin --name far --force` writes it")
    declare(example, "far", "location: 'dav:fields/a.bin'\ncredentials: {RCLONE_CONFIG_DAV_TYPE: "
            f"webdav}}\nsha256: '{A}'\n")
    assert datarules.warnings(repository.load_valid(example)) == []


def folder(repo: Path) -> Path:
    """A folder dataset `fields` kept in the repository, with its manifest in a sidecar, read
    by heat-sweep."""
    data = repo / "datasets" / "data" / "fields"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("a\n")
    (data / "sub" / "b.txt").write_text("b\n")
    declare(repo, "fields", "location: datasets/data/fields/\n")
    manifest.sidecar(repo, "fields").write_text(f"{A}  a.txt\n{B}  sub/b.txt\n")
    use(repo, "fields")
    return data


def test_a_folder_that_differs_from_its_manifest_is_named(example: Path) -> None:
    data = folder(example)
    result = mso("validate", "--data", repo=example, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the data of 2 datasets checked" in result.stderr
    (data / "sub" / "b.txt").unlink()
    (data / "c.txt").write_text("c\n")
    (data / "a.txt").write_text("A\n")
    result = mso("validate", "--data", repo=example, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stdout.splitlines()
    assert line == ("datasets/fields.manifest: dataset 'fields': the folder datasets/data/fields/ "
                    "differs from its manifest: 1 file (c.txt) not in the manifest; 1 file "
                    "(sub/b.txt) listed but not there; 1 file (a.txt) with another sha256 "
                    "(restore it (`git checkout -- datasets/data/fields/`), or if the change is "
                    "meant, `mso dataset add datasets/data/fields/ --name fields --force`)")
    as_json = json.loads(mso("validate", "--data", "--json", repo=example, timeout=60).stdout)
    assert [e["path"] for e in as_json["errors"]] == ["datasets/fields.manifest"]


def test_plan_refuses_a_folder_missing_a_listed_file(example: Path) -> None:
    data = folder(example)
    (data / "a.txt").unlink()
    result = mso("plan", repo=example, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    out = result.stdout + result.stderr
    assert "1 file (a.txt) listed but not there" in out, out
    assert mso("validate", repo=example, timeout=60).returncode == 0, "only --data reads data"


def test_an_inline_manifest_is_checked_at_its_line(example: Path) -> None:
    data = folder(example)
    manifest.sidecar(example, "fields").unlink()
    declare(example, "fields", f"location: datasets/data/fields/\nmanifest:\n  a.txt: {A}\n")
    result = mso("validate", "--data", repo=example, timeout=60)
    assert result.returncode == 1
    assert result.stdout.startswith("datasets/fields.yaml:5:3: manifest: dataset 'fields': the "
                                    "folder datasets/data/fields/ differs from its manifest: 1 "
                                    "file (sub/b.txt) not in the manifest"), result.stdout
    assert (data / "sub" / "b.txt").exists()
