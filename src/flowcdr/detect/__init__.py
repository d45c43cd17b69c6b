"""Detection engine: rules over normalized flows, offline and over streaming windows.

rule       what a rule is (RuleMeta, Tunable, Rule) and its query contract
dialect    the SQL spellings that differ between DuckDB and ClickHouse
case       positive and negative cases written beside each rule
catalogue  finding the rules of a catalogue package
dataset    flows into a DuckDB table laid out as the store's
runner     offline runs and the streaming window runner
finding    findings, dedup keys, and how hits extend findings
samples    sample flows for findings' evidence
beacon     RITA's beacon score
intel      threat-intel lists as sorted integer ranges; feeds reads their files
settings   per-tenant rule settings and suppressions
export     findings as NDJSON, OCSF Detection Finding and ECS
harness    a rule's cases through the engine (the test suite's view)
"""

from flowcdr.detect.case import Case, CaseFlow, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detect.finding import Finding, FindingBook, Hit, extend
from flowcdr.detect.intel import Intel, IntelList, build_list
from flowcdr.detect.rule import Rule, RuleMeta, Tunable

__all__ = [
    "Case",
    "CaseFlow",
    "Finding",
    "FindingBook",
    "Hit",
    "Intel",
    "IntelList",
    "Rule",
    "RuleMeta",
    "Sql",
    "Tunable",
    "build_list",
    "denied",
    "extend",
]
