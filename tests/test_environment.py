"""The environment the code runs in has what pyproject.toml asks for. A checkout updated
without `scripts/install` (a new dependency, such as Flask-Compress) failed at `kb init` with a
bare ModuleNotFoundError; this names every requirement that is missing or too old."""
from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def unmet(requirements: list[str]) -> list[str]:
    out = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            out.append(f"{line} (not installed)")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            out.append(f"{line} (installed: {version})")
    return out


def test_every_declared_dependency_is_installed():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    needed = project["dependencies"] + project["optional-dependencies"]["test"]
    assert not unmet(needed), "run scripts/install --test: " + "; ".join(unmet(needed))


def test_a_missing_dependency_is_named():
    assert unmet(["no-such-package-kb-test>=1"]) == ["no-such-package-kb-test>=1 (not installed)"]
    assert unmet(["flask>=999"])[0].startswith("flask>=999 (installed: ")
