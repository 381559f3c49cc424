"""The Binder files: they parse, and every command postBuild runs exists in this project.

A Binder build is slow and happens far from here, so a typo in postBuild or a model name the
registry does not know would only show up in front of a workshop. These checks catch that here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import lab.models
from lab.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def commands(script: Path) -> list[list[str]]:
    """The simple commands of a shell script, one per line (comments and blank lines dropped)."""
    out = []
    for line in script.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(shlex.split(line, comments=True))
    return out


def speechlab_commands(script: Path) -> list[list[str]]:
    return [c[1:] for c in commands(script) if c and c[0] == "speechlab"]


def exported(script: Path) -> dict[str, str]:
    env = {}
    for command in commands(script):
        if command and command[0] == "export":
            name, _, value = command[1].partition("=")
            default = re.fullmatch(r"\$\{\w+:-(.*)\}", value)  # ${NAME:-default}
            env[name] = default.group(1) if default else value
    return env


def pinned(requirements: list[str], name: str) -> Version:
    for line in requirements:
        req = Requirement(line)
        if req.name == name:
            (spec,) = req.specifier
            assert spec.operator == "==", line
            return Version(spec.version)
    raise AssertionError(f"{name} is not pinned")


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))]


def test_requirements_parse_and_pin_the_cpu_builds_of_the_project_torch_pair():
    lines = requirement_lines()
    for line in lines:
        Requirement(line)  # raises on anything pip would not read
    options = [
        line
        for line in (BINDER / "requirements.txt").read_text().splitlines()
        if line.startswith("-")
    ]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in options
    project_pins = {Requirement(d).name: d for d in PYPROJECT["project"]["dependencies"]}
    for name in ("torch", "torchaudio"):
        version = pinned(lines, name)
        assert version.local == "cpu", f"{name} must be the CPU-only build"
        # the project's own pin accepts the CPU build, so installing the lab keeps it
        assert Requirement(project_pins[name]).specifier.contains(version)


def test_runtime_python_satisfies_the_project():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, runtime
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(match.group(1) + ".0")


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_executable_bash_that_parses(name):
    script = BINDER / name
    assert os.access(script, os.X_OK), f"binder/{name} must be executable"
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_post_build_installs_the_project_with_an_extra_that_exists():
    installs = [
        c for c in commands(BINDER / "postBuild") if c[:4] == ["python", "-m", "pip", "install"]
    ]
    assert installs, "postBuild must install the project"
    target = installs[0][-1]
    assert target.startswith(".[") and target.endswith("]")
    for extra in target[2:-1].split(","):
        assert extra in PYPROJECT["project"]["optional-dependencies"]
    assert "voila" in " ".join(PYPROJECT["project"]["optional-dependencies"]["dashboard"])


def test_every_speechlab_command_in_post_build_parses():
    runs = speechlab_commands(BINDER / "postBuild")
    assert runs
    for argv in runs:
        build_parser().parse_args(argv)  # SystemExit (exit 2) on an unknown command or option


def test_post_build_downloads_known_models_including_the_neural_pair_and_voices():
    downloads = [
        a[2:] for a in speechlab_commands(BINDER / "postBuild") if a[:2] == ["models", "download"]
    ]
    names = [n for argv in downloads for n in argv]
    for name in names:
        info = lab.models.KNOWN_MODELS.get(name)
        assert info is not None, f"{name} is not a registry name"
        assert not info.bundled, f"{name} is bundled: there is nothing to download"
    assert set(lab.models.NEURAL_PAIR) <= set(names)
    assert "cmu-arctic-xvectors" in names  # SpeechT5's voices


def test_start_reads_the_models_post_build_fetched_and_offers_only_those():
    built, started = exported(BINDER / "postBuild"), exported(BINDER / "start")
    assert built["HF_HOME"] == started["HF_HOME"]
    assert started["HF_HUB_OFFLINE"] == "1"
    allowed = started["SPEECHLAB_ALLOWED_MODELS"].split(",")
    downloaded = {
        n
        for a in speechlab_commands(BINDER / "postBuild")
        if a[:2] == ["models", "download"]
        for n in a[2:]
    }
    for name in allowed:
        assert name in lab.models.KNOWN_MODELS, name
        assert name in downloaded or lab.models.KNOWN_MODELS[name].bundled, name
    assert set(lab.models.BUNDLED_PAIR) <= set(allowed)
    last = commands(BINDER / "start")[-1]
    assert last == ["exec", "$@"]


def test_voila_config_hides_tracebacks_and_post_build_installs_it():
    config = json.loads((ROOT / "notebooks" / "dashboards" / "voila.json").read_text())
    assert config["VoilaConfiguration"]["show_tracebacks"] is False
    copies = [c for c in commands(BINDER / "postBuild") if c and c[0] == "cp"]
    assert ["cp", "notebooks/dashboards/voila.json", "${HOME}/.jupyter/voila.json"] in copies


def test_jupyter_server_gets_the_dashboards_settings():
    """On Binder, Voilà runs inside Jupyter Server: culling, the IOPub wait, the upload size and
    the no-traceback rule must be in the file Jupyter Server reads, equal to voila.json's."""
    voila = json.loads((ROOT / "notebooks" / "dashboards" / "voila.json").read_text())
    server = json.loads((BINDER / "jupyter_server_config.json").read_text())
    assert server["MappingKernelManager"] == voila["MappingKernelManager"]
    assert server["VoilaExecutor"] == voila["VoilaExecutor"]
    assert server["ServerApp"]["tornado_settings"] == voila["Voila"]["tornado_settings"]
    for key in ("show_tracebacks", "theme", "file_allowlist"):
        assert server["VoilaConfiguration"][key] == voila["VoilaConfiguration"][key]
    copies = [c for c in commands(BINDER / "postBuild") if c and c[0] == "cp"]
    assert [
        "cp",
        "binder/jupyter_server_config.json",
        "${HOME}/.jupyter/jupyter_server_config.json",
    ] in copies


def test_start_runs_the_model_service_with_a_budget_before_the_server():
    started = exported(BINDER / "start")
    assert started["SPEECHLAB_SERVICE"].startswith("tcp://127.0.0.1:")
    assert started["SPEECHLAB_SERVICE_AUTOSTART"] == "1"
    assert float(started["SPEECHLAB_MODEL_BUDGET_MB"]) < 2000  # a Binder session has 2 GB
    runs = speechlab_commands(BINDER / "start")
    assert runs and runs[0][:2] == ["service", "start"]
    argv = [started.get(a[2:-1], a) if a.startswith("${") else a for a in runs[0]]
    args = build_parser().parse_args([a for a in argv if a not in (">/dev/null", "2>&1", "&")])
    assert args.in_process and args.budget_mb
