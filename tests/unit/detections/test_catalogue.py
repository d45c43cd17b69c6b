"""Every rule's cases through the real engine on DuckDB, and the catalogue's invariants."""

import importlib
from pathlib import Path

import pytest

import flowcdr.detections
from flowcdr.detect.case import Case
from flowcdr.detect.catalogue import CatalogueError, load_rules
from flowcdr.detect.dialect import ClickSql, render
from flowcdr.detect.harness import run_case
from flowcdr.detect.rule import Rule

RULES = load_rules(flowcdr.detections)
CASES = [
    pytest.param(rule, case, id=f"{rule.id}: {case.name}")
    for rule in RULES.values()
    for case in rule.cases
]


@pytest.mark.parametrize(("rule", "case"), CASES)
def test_case(rule: Rule, case: Case) -> None:
    findings = run_case(rule, case)
    assert len(findings) == case.expect, [f.as_dict() for f in findings]
    if case.check:
        got = findings[0].as_dict()
        assert {name: got[name] for name in case.check} == case.check


def test_catalogue_covers_the_families_with_unique_titles() -> None:
    assert len(RULES) >= 30
    tactics = {tactic for rule in RULES.values() for tactic in rule.meta.tactics}
    assert tactics == {
        "TA0043",
        "TA0007",
        "TA0006",
        "TA0001",
        "TA0011",
        "TA0008",
        "TA0010",
        "TA0040",
    }
    assert len({rule.meta.title for rule in RULES.values()}) == len(RULES)


@pytest.mark.parametrize("rule", RULES.values(), ids=list(RULES))
def test_rule_renders_for_clickhouse(rule: Rule) -> None:
    """The same rule text targets ClickHouse: typed placeholders, none of DuckDB's."""
    sql, builder = render(rule, ClickSql, rule.settings({}))
    assert "$" not in sql
    assert "FILTER (WHERE" not in sql
    for name in rule.tunables:
        if name in sql:
            assert "{" + name + ":" in sql
    assert set(builder.bind({})) <= set(rule.tunables)


def test_a_rule_is_named_after_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "othercatalogue" / "reconnaissance"
    folder.mkdir(parents=True)
    for package in (folder.parent, folder):
        (package / "__init__.py").write_text("")
    (folder / "renamed.py").write_text(
        "from flowcdr.detections.reconnaissance.vertical_port_scan import RULE as RULE\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    catalogue = importlib.import_module("othercatalogue")
    with pytest.raises(CatalogueError, match="must be the file name"):
        load_rules(catalogue)
