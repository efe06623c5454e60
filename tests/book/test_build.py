"""End to end: `mso book build` on a repository with real runs; the pages say the right things."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.book.conftest import copy_repo
from tests.conftest import mso

DOCS = Path(".mso/book/docs")


def _record(repo: Path, experiment: str) -> dict:
    [path] = sorted((repo / "results" / experiment).glob("*/run.json"))
    return json.loads(path.read_text())


def _page(repo: Path, rel: str) -> str:
    return (repo / DOCS / rel).read_text("utf-8")


def test_every_declaration_and_run_has_a_page(built: Path) -> None:
    docs = built / DOCS
    for rel in ("index.md", "usage.md", "applications/index.md", "applications/heat.md",
                "applications/noisy.md", "datasets/gaussian-bump.md", "datasets/secret-field.md",
                "infrastructures/local.md", "infrastructures/cluster.md",
                "experiments/heat-sweep.md", "experiments/noisy.md", "reference/run.md",
                "guide/getting-started.md", "guide/validate.md", "guide/book.md"):
        assert (docs / rel).is_file(), rel
    for exp in ("heat-sweep", "noisy"):
        run_id = _record(built, exp)["run_id"]
        assert (docs / "runs" / exp / run_id / "index.md").is_file()
        assert (built / "site" / "runs" / exp / run_id / "index.html").is_file()


def test_experiment_page_has_its_run_history(built: Path) -> None:
    rec = _record(built, "heat-sweep")
    page = _page(built, "experiments/heat-sweep.md")
    row = next(line for line in page.splitlines() if rec["run_id"] in line and line[:1] == "|")
    assert f"(../runs/heat-sweep/{rec['run_id']}/index.md)" in row
    assert "mso-succeeded" in row and "| 6 / 0 / 6 |" in row
    assert f'<code title="{rec["spec_hash"]}">{rec["spec_hash"][:12]}…</code>' in row
    assert "[heat@1.2.0](../applications/heat.md)" in page
    noisy = _page(built, "experiments/noisy.md")
    assert "mso-failed" in noisy and "| 1 / 1 / 2 |" in noisy


def test_run_page_has_provenance_tasks_outputs_and_logs(built: Path) -> None:
    rec = _record(built, "heat-sweep")
    page = _page(built, f"runs/heat-sweep/{rec['run_id']}/index.md")
    for whole in (rec["git"]["commit"], rec["spec_hash"], rec["datasets"]["gaussian-bump"]):
        assert whole and f'<code title="{whole}">{whole[:12]}…</code>' in page   # md.short
    for task in rec["tasks"]:
        row = next(line for line in page.splitlines() if line.startswith(f"| [{task['id']}]"))
        assert "mso-succeeded" in row and f"n={task['parameters']['n']}" in row
        assert f"| {task['exit_code']} |" in row and "MiB" in row
        assert f"## {task['id']}" in page
        for out in task["outputs"]:
            assert f"<code>{out['sha256']}</code>" in page
            copied = built / "site/runs/heat-sweep" / rec["run_id"] / task["id"] / out["path"]
            assert copied.is_file() and copied.stat().st_size == out["size"]
            # linked into the site alone: mkdocs never reads a run's files
            assert not (built / DOCS / "runs/heat-sweep" / rec["run_id"] / task["id"]).exists()
    assert page.count("last progress **100 %**") == len(rec["tasks"])
    assert page.count('class="admonition success"') == len(rec["tasks"])   # the `done` lines
    # heat writes nothing to stderr: no file is kept, and the page says so
    assert page.count("**stderr**: empty.") == len(rec["tasks"])
    assert not any((built / "results/heat-sweep" / rec["run_id"] / t["id"] / "stderr.txt").exists()
                   for t in rec["tasks"])
    site = built / "site/runs/heat-sweep" / rec["run_id"]
    assert (site / rec["tasks"][0]["id"] / "out/summary.json").is_file()
    assert (site / rec["tasks"][0]["id"] / "heat.log").is_file()


def test_failed_task_shows_its_error_unfolded(built: Path) -> None:
    rec = _record(built, "noisy")
    failed = next(t for t in rec["tasks"] if t["state"] == "failed")
    page = _page(built, f"runs/noisy/{rec['run_id']}/index.md")
    row = next(line for line in page.splitlines() if line.startswith(f"| [{failed['id']}]"))
    assert "mso-failed" in row and "| 3 |" in row
    section = page.split(f"## {failed['id']}", 1)[1]
    assert 'class="admonition failure"' in section and 'class="admonition warning"' in section
    assert "error &lt;img src=x onerror=alert(2)&gt;" in section
    assert '<details class="quote" open><summary>stderr' in section
    assert "last progress **100 %**" in section   # two `+1` steps of expected_steps 2


def test_application_page_has_parameter_table(built: Path) -> None:
    page = _page(built, "applications/heat.md")
    assert "| <code>n</code> | integer | <code>64</code> | ≥ 8, ≤ 4096 | interior points per " \
        "side |" in page
    assert "<code>^step</code>" in page and "mso-info" in page
    assert "python heat.py --nu {nu}" in page
    noisy = _page(built, "applications/noisy.md")
    assert "exit \\| code &lt;b&gt;" in noisy    # a parameter description, escaped


def test_infrastructure_shows_variable_names_only(built: Path) -> None:
    page = _page(built, "infrastructures/cluster.md")
    assert "from environment variable <code>HPC\\_USER</code>" in page
    assert "from environment variable <code>HPC\\_KNOWN\\_HOSTS</code>" in page
    assert "<code>SITE\\_TOKEN</code>" in page and "s3cr3t" not in page


def test_reference_is_generated_from_the_schemas(built: Path) -> None:
    page = _page(built, "reference/application.md")
    assert "| <code>logs\\[\\].filters\\[\\].pattern</code> | string | yes | A Python regular " \
        "expression" in page
    assert "| <code>container.build.dockerfile</code> |" in page
    run = _page(built, "reference/run.md")
    assert "| <code>tasks\\[\\].outputs\\[\\].sha256</code> | string | yes | SHA-256 (hex). |" \
        in run
    infra = _page(built, "reference/infrastructure.md")
    assert "these are required too: <code>host</code>" in infra
    intro = _page(built, "reference/index.md")
    assert intro.startswith("# Reference\n\nmso reads four kinds")   # hand-written part first
    assert "[Experiment](experiment.md)" in intro


def test_usage_and_home_count_runs(built: Path) -> None:
    usage = _page(built, "usage.md")
    assert "| 2 | 1 / 1 | 8 | 7 / 1 |" in usage   # totals: runs, ok/failed, tasks, ok/failed
    assert "[heat-sweep](experiments/heat-sweep.md) | 1 | 1 / 0 | 6 | 6 / 0 |" in usage
    home = _page(built, "index.md")
    assert home.startswith("# mso laboratory book\n\nThis book is built")
    assert "## Latest runs" in home and "[2](usage.md)" in home


def test_nav_is_small_and_run_pages_are_not_in_it(built: Path) -> None:
    cfg = yaml.safe_load((built / ".mso/book/mkdocs.yml").read_text())
    assert "/runs/" in cfg["not_in_nav"]
    assert not any("runs/" in p for p in _nav_paths(cfg["nav"]))
    assert cfg["nav"][0] == {"Home": "index.md"} and {"Usage": "usage.md"} in cfg["nav"]
    home = (built / "site/index.html").read_text()
    assert "runs/heat-sweep/" in home        # the latest-runs table links them ...
    nav = home.split('<nav class="md-nav md-nav--primary"', 1)[1].split("</nav>", 1)[0]
    assert "runs/" not in nav                # ... the navigation does not


def _nav_paths(entries) -> list[str]:
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, dict):
        return [p for v in entries.values() for p in _nav_paths(v)]
    return [p for e in entries for p in _nav_paths(e)]


def test_json_summary(built: Path, tmp_path: Path) -> None:
    done = mso("book", "build", "--json", "--site", str(tmp_path / "site"), repo=built)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] and out["runs"] == 2 and out["pages"] >= 20 and out["warnings"] == []
    assert (tmp_path / "site/index.html").is_file()


def test_strict_turns_a_broken_link_into_an_error(built: Path, tmp_path: Path) -> None:
    repo = copy_repo(built, tmp_path / "repo")
    (repo / "book/guide/book.md").write_text("# Book\n\nSee [the missing page](nowhere.md).\n")
    loose = mso("book", "build", repo=repo)
    assert loose.returncode == 0 and "nowhere.md" in loose.stderr
    strict = mso("book", "build", "--strict", repo=repo)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert "nowhere.md" in strict.stderr and "strict" in strict.stderr


def test_a_bad_run_record_is_left_out_with_a_warning(built: Path, tmp_path: Path) -> None:
    repo = copy_repo(built, tmp_path / "repo")
    bad = repo / "results/heat-sweep/20990101T000000Z-deadbeef"
    bad.mkdir()
    (bad / "run.json").write_text('{"run_id": "../../etc", "tasks": []}')
    loose = mso("book", "build", repo=repo)
    assert loose.returncode == 0, loose.stderr
    assert "20990101T000000Z-deadbeef/run.json: not a valid run record" in loose.stderr
    assert not (repo / DOCS / "runs/heat-sweep/20990101T000000Z-deadbeef").exists()
    strict = mso("book", "build", "--strict", repo=repo)
    assert strict.returncode == 1 and "left out of the book" in strict.stderr


def test_refuses_a_site_folder_holding_other_files(built: Path, tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    done = mso("book", "build", "--site", str(tmp_path), repo=built)
    assert done.returncode == 1 and "not empty" in done.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    inside = mso("book", "build", "--site", str(built / "results"), repo=built)
    assert inside.returncode == 1 and "repository's files" in inside.stderr


def test_an_invalid_repository_builds_no_book(tmp_path: Path) -> None:
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments/x.yaml").write_text("name: x\napplication: nothing@1\n")
    done = mso("book", "build", repo=tmp_path)
    assert done.returncode == 1 and "experiments/x.yaml" in done.stderr
    assert not (tmp_path / "site").exists()


def test_an_unreadable_mkdocs_yml_is_one_clear_error(built: Path, tmp_path: Path) -> None:
    repo = copy_repo(built, tmp_path / "repo")
    (repo / "mkdocs.yml").write_text(
        "site_name: x\nmarkdown_extensions:\n  - !!python/name:os.system\n")
    done = mso("book", "build", repo=repo)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("mso: mkdocs.yml: cannot read it")
