"""Portal benchmark: server time of every page and panel over the query benchmark's data set.

    .venv/bin/python bench/portal.py [--flows 10000000] [--runs 20] [--seed 1]

Loads a day of flows with ``bench/query.py``'s loader (the same ten million flows, two
tenants) into build/bench/portal/, records a few hundred findings for the benchmarked tenant
through the ledger (detection itself is ``bench/detect.py``'s subject), then requests every
portal page and dashboard panel through the ASGI app with a signed-in session cookie: p50 and
p95 over ``--runs`` runs after a warm-up, for the last hour and the last day. It also adds up
what each page loads (its HTML and the static files it names), against the 500 KB budget.

Targets (p95 under 300 ms per page or panel, assets under 500 KB) are printed as PASS/MISS and
never fail the run, as in the other benchmarks; a page that does not answer 200 exits 1.
"""

import argparse
import datetime as dt
import re
import shutil
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

import flowcdr.detections
from flowcdr.api.app import create_app
from flowcdr.auth.passwords import hash_password
from flowcdr.config import Settings
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.finding import Hit
from flowcdr.detect.ledger import FindingLedger
from flowcdr.store.control import ControlStore
from flowcdr.store.flows import DuckFlowStore
from flowcdr.web.render import assets
from query import PASSWORD, load, percentiles

DATA_DIR = Path(__file__).resolve().parent.parent / "build" / "bench" / "portal"
TARGET_MS = 300.0
ASSET_BUDGET = 500_000
FINDINGS = 300
_STATIC = re.compile(r'(?:src|href)="/portal/static/([^"?]+)')


def record_findings(settings: Settings, tenant_id: str, day: dt.datetime) -> None:
    """``FINDINGS`` findings over the day, spread over a few rules, as detection would."""
    rules = load_rules(flowcdr.detections)
    chosen = [rules[name] for name in ("vertical_port_scan", "beaconing", "tor_connection",
                                       "ssh_rdp_brute_force", "upload_asymmetry")]  # fmt: skip
    control = ControlStore.open(settings)
    ledger = FindingLedger(control)
    try:
        for index in range(FINDINGS):
            rule = chosen[index % len(chosen)]
            start = day + dt.timedelta(minutes=index * 4)
            end = start + dt.timedelta(seconds=rule.window_seconds)
            hit = Hit(
                rule.id, start, end, (f"198.51.100.{index % 250}", index),
                f"198.51.100.{index % 250}", f"10.{index % 40}.0.4", 22, 6,
                f"/subscriptions/s/resourcegroups/rg/providers/microsoft.network/"
                f"networksecuritygroups/nsg-app{index % 40:03d}",
                "1f0e7a52-4d63-4f5a-9c1e-2b7d3c4a5e60", start, end - dt.timedelta(seconds=1),
                40 + index, 4000 * index, rule.meta.level, {"ports": index % 90 + 10},
            )  # fmt: skip
            ledger.record(tenant_id, rule, start=start, end=end, hits=[hit], now=end)
    finally:
        control.close()


def page_assets(html: str) -> int:
    """Bytes a browser fetches for a page: the HTML and each static file it names, once."""
    known = assets()
    names = set(_STATIC.findall(html))
    return len(html.encode()) + sum(known[n].path.stat().st_size for n in names if n in known)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    shutil.rmtree(DATA_DIR, ignore_errors=True)
    settings = Settings(data_dir=DATA_DIR, retention_days=3650, detect_interval_seconds=3600)
    control = ControlStore.open(settings)
    user = control.add_user("bench", "contoso-bench", "admin", hash_password(PASSWORD))
    other = control.add_user("bench-other", "fabrikam-bench", "analyst", hash_password(PASSWORD))
    control.close()
    now = dt.datetime.now(dt.UTC)
    day = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=1)

    began = time.perf_counter()
    store = DuckFlowStore.open(DATA_DIR / "flows.duckdb")
    try:
        truth = load(store, args.flows, args.seed, (user.tenant_id, other.tenant_id), day)
    finally:
        store.close()
    record_findings(settings, user.tenant_id, day)
    print(f"{args.flows:,} flows ({truth.flows:,} of the benchmarked tenant) and {FINDINGS} "
          f"findings loaded in {time.perf_counter() - began:.0f} s\n")  # fmt: skip

    wrong: list[str] = []
    verdicts: list[bool] = []
    dashboard_bytes = 0
    with TestClient(create_app(settings)) as client:
        form = {"username": "bench", "password": PASSWORD}
        signed = client.post("/portal/sign-in", data=form, follow_redirects=False)
        if signed.status_code != 303:
            print(f"WRONG: sign-in answered {signed.status_code}")
            return 1
        listed = client.get("/portal/findings").text
        finding = re.search(r'href="(/portal/findings/[0-9a-f-]{36})"', listed)
        paths = [
            ("sign-in", "/portal/sign-in"),
            ("dashboard (frame)", "/portal/?range=24h"),
            *((f"panel {name} {span}", f"/portal/panels/{name}?range={span}")
              for span in ("1h", "24h")
              for name in ("traffic", "findings", "resources", "top/talkers", "top/ports",
                           "top/countries", "top/rules", "top/denied-sources")),
            ("flows 1h", "/portal/flows?range=1h"),
            ("flows 24h", "/portal/flows?range=24h"),
            ("flows 24h deny, port 22", "/portal/flows?range=24h&decision=deny&dst_port=22"),
            ("flows 24h src 60.0.0.0/6", "/portal/flows?range=24h&src=60.0.0.0/6"),
            ("findings", "/portal/findings"),
            ("findings high, 24h", "/portal/findings?severity=high&range=24h"),
            ("finding", finding.group(1) if finding else "/portal/findings/none"),
            ("panel finding timeline", (finding.group(1) if finding else "") + "/timeline"),
            ("data health", "/portal/health"),
            ("threat scanners", "/portal/configure/azure"),
            ("tokens", "/portal/tokens"),
            ("settings", "/portal/settings"),
        ]  # fmt: skip
        print(f"{'page (server time, ASGI in process)':<40}{'p50 ms':>9}{'p95 ms':>9}{'KB':>8}")
        for name, path in paths:
            response = client.get(path)
            if response.status_code != 200:
                wrong.append(f"{name}: {response.status_code} {response.text[:200]}")
                continue
            seconds = []
            for _ in range(args.runs):
                start = time.perf_counter()
                client.get(path)
                seconds.append(time.perf_counter() - start)
            p50, p95 = percentiles(seconds)
            size = page_assets(response.text) if not name.startswith("panel") else 0
            if name.startswith("dashboard") or (name.startswith("panel") and "24h" in name):
                dashboard_bytes += page_assets(response.text)
            ok = p95 < TARGET_MS and size < ASSET_BUDGET
            verdicts.append(ok)
            shown = f"{size / 1000:>8.0f}" if size else f"{'':>8}"
            print(f"{name:<40}{p50:>9.1f}{p95:>9.1f}{shown}  {'PASS' if ok else 'MISS'}")

    print(f"\ndashboard with its 24 h panels: {dashboard_bytes / 1000:.0f} KB")
    print(f"targets: p95 < {TARGET_MS:.0f} ms and assets < {ASSET_BUDGET // 1000} KB per "
          f"page: {sum(verdicts)} of {len(verdicts)} PASS")  # fmt: skip
    for problem in wrong:
        print(f"WRONG: {problem}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
