"""scripts/audit.py: fails on a fixable vulnerability, and never passes silently unaudited."""

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit.py"


def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vuln(fixes: list[str]) -> dict[str, object]:
    return {"id": "PYSEC-0000-1", "fix_versions": fixes, "description": "x"}


def test_a_fixable_vulnerability_fails_and_an_unfixable_one_warns() -> None:
    report = {"dependencies": [
        {"name": "good", "version": "1.0", "vulns": []},
        {"name": "bad", "version": "1.0", "vulns": [vuln(["1.1"])]},
        {"name": "stuck", "version": "2.0", "vulns": [vuln([])]},
    ]}  # fmt: skip
    status, out, banner = audit().verdict(report)
    assert status == 1
    assert "VULNERABLE bad 1.0: PYSEC-0000-1, fixed in 1.1" in out
    assert "warning: stuck 2.0: PYSEC-0000-1 has no fixed release yet" in out
    assert banner == []


def test_skipped_dependencies_are_announced_not_passed_silently() -> None:
    report = {"dependencies": [
        {"name": "a", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "b", "version": "1.0", "vulns": []},
    ]}  # fmt: skip
    status, out, banner = audit().verdict(report)
    assert status == 0
    assert "VULNERABILITY AUDIT NOT DONE for 1 of 2 dependencies" in "\n".join(banner)
    assert "1 dependencies audited" in out[-1]
