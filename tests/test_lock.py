"""requirements.lock covers pyproject.toml: a dependency added without ``make lock`` is named.

``make`` installs only what the lock pins (with hashes), so a package that pyproject.toml asks
for but the lock lacks would be missing from every fresh machine and CI.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKED_EXTRAS = ("dev", "clickhouse")  # what the Makefile's lock target compiles


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_of_pyproject_is_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        wanted += project["optional-dependencies"][extra]
    names = {canonical(re.match(r"[A-Za-z0-9._-]+", spec).group(0)) for spec in wanted}  # type: ignore[union-attr]
    locked = {
        canonical(line.split("==")[0])
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if re.match(r"[A-Za-z0-9]", line) and "==" in line
    }
    assert sorted(names - locked) == [], "run `make lock` after changing pyproject.toml"
    assert set(LOCKED_EXTRAS) == set(project["optional-dependencies"]), "lock every extra"
