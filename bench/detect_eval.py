"""Detection quality on labelled simulations: recall, precision, false positives per 100 VMs a day.

    .venv/bin/python bench/detect_eval.py [--seeds 101 202] [--benign-seeds 303] [--vms 50]
                                          [--hours 24] [--benign-hours 48] [--formats nsg vnet]

For every seed and format, ``flowcdr simulate`` writes a day of a VM estate with every attack
scenario (parameters drawn per seed: rates, timing, jitter, volumes, targets) and its labels,
threat-intel feed and Tor relay list; ``flowcdr detect`` runs the whole catalogue over the
blobs with those lists, exactly as a user would run both commands. Benign seeds (``--scenarios
none``, two days by default) measure false positives. The default seeds are not the ones the
rules were tuned on (3 and 11).

A finding *matches* a label when they share an ATT&CK technique (compared by base technique, so
T1110.001 matches T1110), one of the finding's addresses is one of the label's attackers or
victims, and the finding's time overlaps the attack's (widened by the longest rule window).
Recall: labelled attacks matched by at least one finding, per scenario and overall. Precision:
matching findings over all findings that are not NSG-hygiene insights. False positives: the
non-insight findings of benign runs, per 100 VMs per day, counted apart for the first day and
for the days after it: rules with a baseline (the regular sources of an exposed port, a VM's
usual upload destinations) know nothing on the first day and learn from it, as a deployment
does, so the days after the first are the steady state an operator lives with. A finding
opened on the first day and extended later counts once, on its first day. A second precision
counts a finding as right when it names a labelled attack's address during the attack whatever
the technique (an exfiltration over one long session also raises the long-connection rule,
with its own ATT&CK ids). Every run suppresses the estate's own vulnerability scanner
(10.0.64.4, the same address in every simulation) for the internal scanning rules it trips, as
its operator would.

Targets (PASS/MISS, never failing the run): recall >= 0.95, precision >= 0.95, at most 1 false
positive per 100 VMs per day. A command that fails exits 1.
"""

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flowcdr.detections
from flowcdr.detect.catalogue import load_rules

TARGET_RECALL = 0.95
TARGET_PRECISION = 0.95
TARGET_FP_PER_100_VMS_DAY = 1.0
START = "2026-03-02T00:00:00+00:00"  # a Monday: a working week starts
SLACK = dt.timedelta(hours=6)  # the longest rule window: a finding's window may start earlier
# The estate's vulnerability scanner, suppressed as its operator would: for what scanning
# trips, not for everything, so the scanner VM compromised (as seed 101 draws it, tunnelling
# DNS) is still found.
SETTINGS = "".join(
    f"""
[[suppressions]]
cidr = "10.0.64.4/32"
rule = "{rule}"
reason = "the customer's own vulnerability scanner"
"""
    for rule in ("internal_port_scan", "internal_sweep", "admin_port_fan_out")
)


@dataclass
class Score:
    labels: int = 0
    caught: int = 0
    findings: int = 0
    matching: int = 0
    naming: int = 0
    """Findings that name a labelled attack's address in its time, whatever the technique."""
    by_scenario: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    missed: list[str] = field(default_factory=list)
    unmatched: Counter[str] = field(default_factory=Counter)


def command(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowcdr", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"flowcdr {args[0]} failed:\n{done.stderr[-2000:]}")


def run(
    out: Path, seed: int, fmt: str, vms: int, hours: int, attacks: bool
) -> list[dict[str, Any]]:
    """Simulate, then detect; returns the findings and leaves labels in ``out``."""
    command("simulate", "--out", str(out), "--seed", str(seed), "--format", fmt, "--vms", str(vms),
            "--hours", str(hours), "--start", START,
            "--scenarios", "all" if attacks else "none")  # fmt: skip
    findings = out / "findings.ndjson"
    # The run's threat-intel feed and its Tor relay list (tor-labels-intel.txt).
    intel = [
        arg for feed in sorted(out.glob("*labels-intel.txt")) for arg in ("--intel", str(feed))
    ]
    settings = out / "settings.toml"
    settings.write_text(SETTINGS)
    command("detect", *[str(p) for p in sorted(out.glob("insights-logs-*"))], *intel,
            "--config", str(settings), "-o", str(findings))  # fmt: skip
    return [json.loads(line) for line in findings.read_text().splitlines() if line]


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _base(techniques: list[str]) -> set[str]:
    return {t.split(".")[0] for t in techniques}


def matches(finding: dict[str, Any], label: dict[str, Any], *, technique: bool = True) -> bool:
    if technique and not _base(finding["techniques"]) & _base(label["techniques"]):
        return False
    ends = {finding["src_ip"], finding["dst_ip"]} - {None}
    if not ends & {*label["attackers"], *label["victims"]}:
        return False
    start, end = _time(label["start"]) - SLACK, _time(label["end"]) + SLACK
    return _time(finding["first_seen"]) <= end and _time(finding["last_seen"]) >= start


def score(findings: list[dict[str, Any]], labels: list[dict[str, Any]], insights: set[str],
          into: Score) -> None:  # fmt: skip
    attacks = [f for f in findings if f["rule_id"] not in insights]
    into.findings += len(attacks)
    for finding in attacks:
        if any(matches(finding, label) for label in labels):
            into.matching += 1
        else:
            into.unmatched[finding["rule_id"]] += 1
        into.naming += any(matches(finding, label, technique=False) for label in labels)
    for label in labels:
        hit = any(matches(finding, label) for finding in attacks)
        into.labels += 1
        into.caught += hit
        counts = into.by_scenario[label["scenario"]]
        counts[0] += 1
        counts[1] += hit
        if not hit:
            into.missed.append(f"{label['id']} ({label['scenario']})")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202])
    parser.add_argument("--benign-seeds", type=int, nargs="+", default=[303])
    parser.add_argument("--vms", type=int, default=50)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--benign-hours", type=int, default=48)
    parser.add_argument("--formats", nargs="+", choices=["nsg", "vnet"], default=["nsg", "vnet"])
    args = parser.parse_args()
    rules = load_rules(flowcdr.detections)
    insights = {rule_id for rule_id, rule in rules.items() if rule.meta.insight}
    total = Score()
    benign_findings: Counter[str] = Counter()
    later_findings: Counter[str] = Counter()
    first_day_end = _time(START) + dt.timedelta(days=1)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="detect-eval-") as scratch:
        for seed in args.seeds:
            for fmt in args.formats:
                out = Path(scratch) / f"{fmt}-{seed}"
                findings = run(out, seed, fmt, args.vms, args.hours, attacks=True)
                labels = [json.loads(x) for x in (out / "labels.jsonl").read_text().splitlines()]
                before = (total.caught, total.labels, total.matching, total.findings)
                score(findings, labels, insights, total)
                print(f"seed {seed} {fmt}: {total.caught - before[0]}/{total.labels - before[1]} "
                      f"attacks found; {total.matching - before[2]}/{total.findings - before[3]} "
                      f"findings match an attack ({len(findings)} with insights)")  # fmt: skip
        for seed in args.benign_seeds:
            for fmt in args.formats:
                out = Path(scratch) / f"benign-{fmt}-{seed}"
                benign = run(out, seed, fmt, args.vms, args.benign_hours, attacks=False)
                for alarm in (f for f in benign if f["rule_id"] not in insights):
                    later = _time(alarm["first_seen"]) >= first_day_end
                    (later_findings if later else benign_findings)[alarm["rule_id"]] += 1
    print(f"\nscenario                   found / injected   ({time.perf_counter() - began:.0f} s)")
    for scenario, (injected, found) in sorted(total.by_scenario.items()):
        print(f"  {scenario:26s} {found:3d} / {injected}")
    recall = total.caught / total.labels if total.labels else 0.0
    precision = total.matching / total.findings if total.findings else 1.0
    by_address = total.naming / total.findings if total.findings else 1.0
    runs = len(args.benign_seeds) * len(args.formats) * args.vms / 100
    first_days, later_days = (
        runs * min(args.benign_hours, 24) / 24,
        runs * max(args.benign_hours - 24, 0) / 24,
    )
    false_rate = sum(benign_findings.values()) / first_days if first_days else 0.0
    later_rate = sum(later_findings.values()) / later_days if later_days else 0.0
    if total.missed:
        print("missed: " + ", ".join(total.missed))
    if total.unmatched:
        print("findings matching no attack, by rule: " + ", ".join(
            f"{rule} {n}" for rule, n in total.unmatched.most_common()))  # fmt: skip
    for day, opened in (("first day", benign_findings), ("later days", later_findings)):
        if opened:
            print(f"benign-run findings opened on the {day}, by rule: " + ", ".join(
                f"{rule} {n}" for rule, n in opened.most_common()))  # fmt: skip
    print()
    print(f"  {verdict(recall >= TARGET_RECALL)}  recall {recall:.3f} (target >= {TARGET_RECALL})")
    print(f"  {verdict(precision >= TARGET_PRECISION)}  precision {precision:.3f} "
          f"(target >= {TARGET_PRECISION})")  # fmt: skip
    print(f"  info  precision by address and time, any technique: {by_address:.3f}")
    print(f"  {verdict(false_rate <= TARGET_FP_PER_100_VMS_DAY)}  false positives "
          f"{false_rate:.2f} per 100 VMs per day on benign runs, first day, no history "
          f"(target <= {TARGET_FP_PER_100_VMS_DAY})")  # fmt: skip
    if later_days:
        print(f"  {verdict(later_rate <= TARGET_FP_PER_100_VMS_DAY)}  false positives "
              f"{later_rate:.2f} per 100 VMs per day on benign runs, the days after "
              f"(target <= {TARGET_FP_PER_100_VMS_DAY})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
