"""Every rule's cases through the real engine on DuckDB, and the catalogue's invariants."""

import pytest

import flowcdr.detections
from flowcdr.detect.case import Case
from flowcdr.detect.catalogue import load_rules
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


def test_catalogue_is_not_empty_and_ids_are_unique() -> None:
    assert len(RULES) >= 1
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
