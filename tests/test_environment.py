"""environment.yml (conda) lists the same dependencies as pyproject.toml (pip)."""

from __future__ import annotations

import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from cs230_grading.course import REPO_ROOT

# conda splits dask[distributed] into two packages and names psycopg2 without -binary.
CONDA_NAMES = {"dask[distributed]": {"dask", "distributed"}, "psycopg2-binary": {"psycopg2"},
               "bleach[css]": {"bleach-with-css"}}


def _requirement(spec: str) -> tuple[str, str]:
    match = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)", spec)
    assert match, spec
    return match.group(1).lower(), match.group(2).replace(" ", "")


def test_conda_environment_matches_pyproject() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    # Requirements with an environment marker (tomli on Python 3.10) are pip-only.
    pip_specs = dict(_requirement(s) for s in specs if ";" not in s)

    conda: dict[str, str] = {}
    in_deps = False
    for line in (REPO_ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        # conda packages ("  - name"), and PyPI-only ones in the pip section ("      - name")
        item = re.match(r"^  - ([^\s:]+)\s*$", line) or re.match(
            r"^      - ([A-Za-z][^\s#]*)\s*(#.*)?$", line)
        if in_deps and item:
            name, version = _requirement(item.group(1))
            conda[name] = version
    conda.pop("python", None)
    conda.pop("pip", None)

    expected: dict[str, str] = {}
    for name, version in pip_specs.items():
        for conda_name in CONDA_NAMES.get(name, {name}):
            expected[conda_name] = version
    assert conda == expected
