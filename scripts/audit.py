"""Vulnerability audit of the locked dependencies (pip-audit), loud when it could not audit.

    .venv/bin/python scripts/audit.py [requirements.lock]

pip-audit asks PyPI's JSON API (or OSV) about each pinned release. Where neither can be reached
(this project's machines reach only the package index), it skips every dependency and still
prints "No known vulnerabilities found" and exits 0: a silent pass. So its JSON report is read
here instead, and:

- a known vulnerability that a newer release fixes fails the run (exit 1): upgrade the lock;
- a known vulnerability without a fix is printed as a warning;
- dependencies that could not be audited are counted in a banner on stderr that says the audit
  did NOT run for them; the exit stays 0, so a machine without the vulnerability database does
  not fail CI, but it never reads as "no vulnerabilities".
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

AUDIT_SECONDS = 300
BANNER = "!" * 78


def verdict(report: dict[str, Any]) -> tuple[int, list[str], list[str]]:
    """(exit status, lines for stdout, lines for the stderr banner) of a pip-audit JSON report."""
    out: list[str] = []
    skipped: list[str] = []
    fixable = 0
    for dependency in report.get("dependencies", []):
        name, version = dependency.get("name"), dependency.get("version", "?")
        if "skip_reason" in dependency:
            skipped.append(name)
            continue
        for vulnerability in dependency.get("vulns", []):
            fixes = vulnerability.get("fix_versions") or []
            label = f"{name} {version}: {vulnerability.get('id')}"
            if fixes:
                fixable += 1
                out.append(f"VULNERABLE {label}, fixed in {', '.join(fixes)}")
            else:
                out.append(f"warning: {label} has no fixed release yet")
    audited = len(report.get("dependencies", [])) - len(skipped)
    out.append(f"pip-audit: {audited} dependencies audited, {fixable} fixable vulnerabilities")
    banner = []
    if skipped:
        banner = [
            BANNER,
            f"VULNERABILITY AUDIT NOT DONE for {len(skipped)} of"
            f" {len(report.get('dependencies', []))} dependencies: the vulnerability database"
            " (PyPI JSON API / OSV) could not be reached from this machine.",
            f"Not audited: {', '.join(skipped[:12])}{' ...' if len(skipped) > 12 else ''}",
            "Run `make check` where pypi.org/pypi/<name>/json is reachable to audit them.",
            BANNER,
        ]
    return (1 if fixable else 0), out, banner


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")
    command = [sys.executable, "-m", "pip_audit", "-r", str(lock), "--require-hashes",
               "--disable-pip", "--format", "json", "--progress-spinner", "off"]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command line
            command, capture_output=True, text=True, timeout=AUDIT_SECONDS, check=False
        )
        report = json.loads(done.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        reason = getattr(error, "stderr", None) or str(error)
        last = str(reason).strip().splitlines()[-1:] or ["no output"]
        print(f"{BANNER}\nVULNERABILITY AUDIT NOT DONE: pip-audit failed: {last[0]}\n{BANNER}",
              file=sys.stderr)  # fmt: skip
        return 0
    status, out, banner = verdict(report)
    print("\n".join(out))
    if banner:
        print("\n".join(banner), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
