"""`mso recipe convert`: Dockerfile <-> Apptainer definition with spython, on real recipes."""

from __future__ import annotations

from pathlib import Path

from runner.containers import convert
from tests.conftest import ROOT, mso

DOCKERFILE = """\
ARG BASE=127.0.0.1:5055/lab/debian-numpy:12
FROM $BASE
ENV OMP_NUM_THREADS=1
WORKDIR /app
COPY heat.py /app/heat.py
RUN python3 -c "import numpy"
ENTRYPOINT ["python3", "/app/heat.py"]
"""

DEFINITION = """\
Bootstrap: docker
From: debian:12
Stage: spython-base

%files
heat.py /app/heat.py
%post
apt-get update && apt-get install -y python3-numpy
%environment
export OMP_NUM_THREADS=1
%runscript
exec python3 /app/heat.py "$@"
"""


def test_dockerfile_to_definition_and_back(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    proc = mso("recipe", "convert", str(tmp_path / "Dockerfile"), repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    definition = (tmp_path / "Singularity.def").read_text()
    assert "Bootstrap: docker" in definition
    assert "From: 127.0.0.1:5055/lab/debian-numpy:12" in definition
    assert "heat.py /app/heat.py" in definition and "export OMP_NUM_THREADS=1" in definition
    assert 'exec python3 /app/heat.py "$@"' in definition
    back = tmp_path / "back" / "Dockerfile"
    proc = mso("recipe", "convert", str(tmp_path / "Singularity.def"), "-o", str(back), repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = back.read_text()
    assert text.startswith("FROM 127.0.0.1:5055/lab/debian-numpy:12")
    assert "ENV OMP_NUM_THREADS=1" in text and "/app/heat.py" in text


def test_definition_with_a_stage_line_converts(tmp_path):
    """spython writes `Stage:` after `From:` and cannot read that back: mso reads it anyway."""
    (tmp_path / "heat.def").write_text(DEFINITION)
    proc = mso("recipe", "convert", str(tmp_path / "heat.def"), "--to", "docker",
               "-o", str(tmp_path / "Dockerfile"), "--json", repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "Dockerfile").read_text()
    assert text.startswith("FROM debian:12") and "apt-get install -y python3-numpy" in text


def test_build_args_are_filled_into_the_definition(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    text = convert.convert(tmp_path / "Dockerfile", "singularity", {"BASE": "r.example.org/b:2"})
    assert "From: r.example.org/b:2" in text and "Stage:" not in text


def test_the_example_application_recipe_converts(tmp_path):
    proc = mso("recipe", "convert", str(ROOT / "applications" / "heat" / "Dockerfile"),
               "-o", str(tmp_path / "heat.def"), repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Bootstrap: docker" in (tmp_path / "heat.def").read_text()


def test_never_overwrites_without_force(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    out = tmp_path / "Singularity.def"
    out.write_text("mine\n")
    proc = mso("recipe", "convert", str(tmp_path / "Dockerfile"), repo=tmp_path)
    assert proc.returncode == 1 and "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_text() == "mine\n"
    proc = mso("recipe", "convert", str(tmp_path / "Dockerfile"), "--force", repo=tmp_path)
    assert proc.returncode == 0 and "Bootstrap" in out.read_text()


def test_bad_input_is_one_line(tmp_path):
    for args, says in ((["nope/Dockerfile"], "no such file"),
                       ([str(Path(tmp_path / "Dockerfile"))], "already a Dockerfile")):
        if "already" in says:
            (tmp_path / "Dockerfile").write_text(DOCKERFILE)
            args = [*args, "--to", "docker"]
        proc = mso("recipe", "convert", *args, repo=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr
