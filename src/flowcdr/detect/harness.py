"""Running a rule's cases through the real engine: the test suite's view of the catalogue.

Each case gets a fresh in-memory DuckDB: its flows are enriched and loaded as ingest would
(with the case's intel list, if any), then the rule runs offline with its default tunables.
"""

from flowcdr.detect.case import Case
from flowcdr.detect.dataset import OFFLINE_TENANT, add_flows, open_dataset
from flowcdr.detect.finding import Finding
from flowcdr.detect.intel import Intel, build_list
from flowcdr.detect.rule import Rule
from flowcdr.detect.runner import detect_offline


def run_case(rule: Rule, case: Case) -> list[Finding]:
    db = open_dataset()
    try:
        intel = Intel((build_list(case.intel_list, case.intel),)) if case.intel else None
        add_flows(db, case.table(), intel=intel)
        book = detect_offline(db, {rule.id: rule}, {rule.id: rule.settings({})}, OFFLINE_TENANT)
        return list(book.findings())
    finally:
        db.close()
