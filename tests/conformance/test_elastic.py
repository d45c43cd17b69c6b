"""Our parser against Elastic's azure_network_watcher_{nsg,vnet} integration as an oracle.

Elastic emits one document per flow-log record; we emit one row per tuple. Per
``shared/research/formats.md`` §7.2, our rows are cut per record using the number of nested
tuples in each expected document, compared per tuple with the nested vendor objects by
position, then compared with the ECS top-level arrays as sets.

Legitimate differences (formats.md §7.4) and how each is absorbed here, never by an ``if``:

1. Granularity: one row per tuple vs one document per record with deduplicated, unordered
   ECS arrays -> arrays compared as sets of our non-null values over the record.
2. ``@timestamp`` is the record ``time``; our ``time`` is the tuple's -> compared with the
   nested ``tuples[].timestamp`` at millisecond precision; record time is not compared.
3. Empty B counters: Elastic omits the keys, we store NULL -> absent == NULL, but NULL != 0.
4. ``source.mac`` is the observing NIC even for inbound tuples -> compared with our ``mac``
   after removing Elastic's dashes.
5. No ``event.action``/``outcome`` in Elastic -> our ``decision`` is checked against nested
   ``traffic.decision`` (NSG) or ``flow.state == Deny`` (VNet).
6. Vocabulary (``Continuing``/``Continue``, ``TCP``/``tcp``/``"6"``, ``Inbound``) -> mapping
   tables below; an unmapped Elastic value fails the test.
7. ``azure.resource.name`` is not compared; ``azure.subscription_id`` and
   ``azure.resource.group`` are, case-insensitively (we store lower case).
8. Envelope fields (``ecs.*``, ``agent.*``, ``log.*``, ``event.*``, ...) are never read.
9. NSG v1 has no Elastic output; it is covered by test_msdocs.py.
10. IP text is canonicalised (``ipaddress``) on Elastic's side before comparing.
11. Ours, by design (design.md §2): a VNet row's resource group is the *target's* (the VNet,
    subnet or NIC that carried the traffic), where Elastic takes the flow log's own
    (``NETWORKWATCHERRG``). For VNet only ``azure.subscription_id`` is compared to ``azure.*``;
    the target resource id, which holds our group, is compared per tuple.
"""

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from flowcdr.formats import ParseReport, parse_blob

from .corpus import Row, decode_json, envelope_records, load_json, raw_tuples, rows

Convert = Callable[[Any], object]


def vocab(name: str, table: Mapping[str, object]) -> Convert:
    """A converter through ``table`` that fails loudly on a value the table does not know."""

    def convert(value: Any) -> object:
        assert value in table, f"unmapped Elastic {name} {value!r}"
        return table[value]

    return convert


def elastic_time(value: Any) -> object:
    """Elastic's ISO text (``...000Z``, millisecond precision) as an aware datetime."""
    return dt.datetime.fromisoformat(value)


def canonical_ip(value: Any) -> object:
    """IP text in canonical form (IPv6 compressed), as our parser writes it."""
    return str(ipaddress.ip_address(value))


def plain_mac(value: Any) -> object:
    """Elastic's ``00-0D-3A-F8-78-56`` as our 12 upper-case hex digits."""
    return str(value).replace("-", "").upper()


def to_millisecond(value: Any) -> object:
    """Our microsecond time cut to Elastic's millisecond precision (§7.4 item 2)."""
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def same(value: Any) -> object:
    """Our value as is."""
    return value


def lower(value: Any) -> object:
    """ARM ids and names: we store them lower case, Azure writes either case."""
    return str(value).lower()


DIRECTION: Final = vocab("direction", {"Inbound": "inbound", "Outbound": "outbound"})
STATE: Final = vocab(
    "flow state",
    {
        "Begin": "begin",
        "Continuing": "continue",  # current pipeline
        "Continue": "continue",  # older pipeline revisions (§7.4 item 6)
        "End": "end",
        "Deny": "deny",  # VNet only
    },
)
NSG_DECISION: Final = vocab("decision", {"Allowed": "allow", "Denied": "deny"})
VNET_DECISION: Final = vocab(
    "flow state (as decision)",
    {"Begin": "allow", "Continuing": "allow", "Continue": "allow", "End": "allow", "Deny": "deny"},
)
"""VNet tuples have no decision field: a denial is written as flow state D (§7.4 item 5)."""
NSG_PROTOCOL: Final = vocab("protocol", {"TCP": 6, "UDP": 17})
NSG_TRANSPORT: Final = vocab("network.transport", {"tcp": 6, "udp": 17})


@dataclass(frozen=True)
class TupleField:
    """One of our columns and where its value sits in a flattened Elastic tuple."""

    column: str
    path: tuple[str, ...]
    convert: Convert
    ours: Convert = same
    """Applied to our value before comparing (only time needs it)."""


COMMON_TUPLE_FIELDS: Final = (
    TupleField("log_version", ("version",), int),
    TupleField("resource_id", ("resource_id",), lower),
    TupleField("acl_id", ("acl_id",), str),
    TupleField("rule", ("rule",), str),
    TupleField("mac", ("mac",), plain_mac),
    TupleField("time", ("tuple", "timestamp"), elastic_time, to_millisecond),
    TupleField("src_ip", ("tuple", "source", "ip"), canonical_ip),
    TupleField("dst_ip", ("tuple", "destination", "ip"), canonical_ip),
    TupleField("src_port", ("tuple", "source", "port"), int),
    TupleField("dst_port", ("tuple", "destination", "port"), int),
    TupleField("src_packets", ("tuple", "packets", "sent"), int),
    TupleField("src_bytes", ("tuple", "bytes", "sent"), int),
    TupleField("dst_packets", ("tuple", "packets", "received"), int),
    TupleField("dst_bytes", ("tuple", "bytes", "received"), int),
    # NSG tuples have no encryption, so Elastic's absent key expects our NULL there.
    TupleField("encryption", ("tuple", "flow", "encryption"), str),
)
TUPLE_FIELDS: Final[Mapping[str, tuple[TupleField, ...]]] = {
    "nsg": (
        *COMMON_TUPLE_FIELDS,
        TupleField("protocol", ("tuple", "protocol"), NSG_PROTOCOL),
        TupleField("direction", ("tuple", "traffic", "flow"), DIRECTION),
        TupleField("decision", ("tuple", "traffic", "decision"), NSG_DECISION),
        TupleField("state", ("tuple", "flow_state"), STATE),
    ),
    "vnet": (
        *COMMON_TUPLE_FIELDS,
        TupleField("protocol", ("tuple", "protocol"), int),
        TupleField("direction", ("tuple", "flow", "direction"), DIRECTION),
        TupleField("decision", ("tuple", "flow", "state"), VNET_DECISION),
        TupleField("state", ("tuple", "flow", "state"), STATE),
    ),
}


@dataclass(frozen=True)
class SetField:
    """An ECS top-level array of a document and the column whose values it collects."""

    path: tuple[str, ...]
    column: str
    convert: Convert


COMMON_SET_FIELDS: Final = (
    SetField(("source", "ip"), "src_ip", canonical_ip),
    SetField(("destination", "ip"), "dst_ip", canonical_ip),
    SetField(("source", "port"), "src_port", int),
    SetField(("destination", "port"), "dst_port", int),
    SetField(("source", "packets"), "src_packets", int),
    SetField(("source", "bytes"), "src_bytes", int),
    SetField(("destination", "packets"), "dst_packets", int),
    SetField(("destination", "bytes"), "dst_bytes", int),
    SetField(("rule", "name"), "rule", str),
    SetField(("source", "mac"), "mac", plain_mac),
    SetField(("network", "direction"), "direction", str),
)
SET_FIELDS: Final[Mapping[str, tuple[SetField, ...]]] = {
    "nsg": (*COMMON_SET_FIELDS, SetField(("network", "transport"), "protocol", NSG_TRANSPORT)),
    "vnet": (*COMMON_SET_FIELDS, SetField(("network", "iana_number"), "protocol", int)),
}

SUBSCRIPTION: Final = SetField(("azure", "subscription_id"), "subscription_id", lower)
ID_FIELDS: Final[Mapping[str, tuple[SetField, ...]]] = {
    "nsg": (SUBSCRIPTION, SetField(("azure", "resource", "group"), "resource_group", lower)),
    "vnet": (SUBSCRIPTION,),  # difference 11: the group is the target's, not the flow log's
}
"""Compared strictly (§7.4 item 7), when the document has them (older revisions do not)."""


def dig(value: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, or None where any key is absent (absent == NULL, §7.4 item 3)."""
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def as_list(value: Any) -> list[Any]:
    """ECS fields are arrays except where a single value is written as a scalar (VNet mac)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def nested_tuples(kind: str, document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The document's per-tuple objects in input order, each with the names enclosing it."""
    log = document[f"azure_network_watcher_{kind}"]["log"]
    if kind == "nsg":
        for rule in log["properties"]["flows"]:
            for nic in rule["flows"]:
                for item in nic["tuples"]:
                    yield {
                        "version": log["properties"]["version"],
                        "resource_id": log["resource_id"],
                        "rule": rule["rule"],
                        "mac": nic["mac"],
                        "tuple": item,
                    }
    else:
        for acl in log["records"]["flows"]:
            for group in acl["groups"]:
                for item in group["tuples"]:
                    yield {
                        "version": log["flow_log"]["version"],
                        "resource_id": log["target_resource_id"],
                        "acl_id": acl["acl_id"],
                        "rule": group["rule"],
                        "mac": log["mac_address"],
                        "tuple": item,
                    }


@dataclass(frozen=True)
class Oracle:
    """An Elastic input file and the expected documents Elastic produced from it."""

    kind: str
    directory: str
    input: str
    expected: str
    pipeline: bool
    """Pipeline tests feed one record per line and expect ``{"expected": [doc per line]}``;
    system tests feed the whole blob and ``sample_event.json`` is the first record's doc."""


ORACLES: Final = (
    Oracle("nsg", "azure_network_watcher_nsg", "test-nsg.log", "test-nsg.log-expected.json", True),
    Oracle(
        "nsg",
        "azure_network_watcher_nsg",
        "system-sample_logs-testdata.log",
        "sample_event.json",
        False,
    ),
    Oracle(
        "vnet", "azure_network_watcher_vnet", "test-vnet.log", "test-vnet.log-expected.json", True
    ),
    Oracle(
        "vnet",
        "azure_network_watcher_vnet",
        "system-sample_logs-testdata.log",
        "sample_event.json",
        False,
    ),
)


@dataclass(frozen=True)
class Case:
    """One oracle, read: input records (json), our parse of them, and Elastic's documents."""

    oracle: Oracle
    records: list[dict[str, Any]]
    reports: list[ParseReport]
    rows: list[Row]
    documents: list[dict[str, Any]]

    def per_document(self) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[Row]]]:
        """(document, its nested tuples, our rows of that record) for every document.

        Rows carry no record number, so they are cut by count in record order; the counts
        are first checked against the input record each document was made from.
        """
        assert len(self.documents) <= len(self.records)
        out = []
        start = 0
        for document, record in zip(self.documents, self.records, strict=False):
            expected = list(nested_tuples(self.oracle.kind, document))
            assert len(expected) == len(raw_tuples(record)), "document/record tuple counts differ"
            out.append((document, expected, self.rows[start : start + len(expected)]))
            start += len(expected)
        return out


def read_case(corpus_dir: Path, oracle: Oracle) -> Case:
    """Parse the oracle's input the way Elastic's test fed it, and load the expected docs."""
    folder = corpus_dir / "elastic" / oracle.directory
    data = (folder / oracle.input).read_bytes()
    source = f"elastic/{oracle.directory}/{oracle.input}"
    expected = load_json(folder / oracle.expected)
    if oracle.pipeline:
        lines = [line for line in data.splitlines() if line.strip()]
        results = [parse_blob(line, source=f"{source}:{n}") for n, line in enumerate(lines, 1)]
        records = [decode_json(line) for line in lines]
        documents = list(expected["expected"])
    else:
        results = [parse_blob(data, source=source)]
        records = envelope_records(load_json(folder / oracle.input))
        documents = [expected]
    return Case(
        oracle=oracle,
        records=records,
        reports=[r.report for r in results],
        rows=[row for r in results for row in rows(r)],
        documents=documents,
    )


@pytest.fixture(params=ORACLES, ids=lambda o: f"{o.kind}-{'pipeline' if o.pipeline else 'system'}")
def case(request: pytest.FixtureRequest, corpus_dir: Path) -> Case:
    """Each oracle pair, parsed and loaded."""
    oracle: Oracle = request.param
    return read_case(corpus_dir, oracle)


def test_one_document_per_record(case: Case) -> None:
    """We read every record cleanly, and the documents line up with the input records."""
    assert sum(r.records for r in case.reports) == len(case.records)
    assert {(r.rejected, r.skipped, r.cut) for r in case.reports} == {(0, 0, False)}
    assert len(case.rows) == sum(len(raw_tuples(r)) for r in case.records)
    if case.oracle.pipeline:
        assert len(case.documents) == len(case.records)
    else:
        assert len(case.documents) == 1, "sample_event.json is the first record's document only"
    assert case.per_document()


def test_tuples_match_nested_objects(case: Case) -> None:
    """Every nested Elastic tuple equals our row at the same position, field by field."""
    fields = TUPLE_FIELDS[case.oracle.kind]
    mismatches = []
    for n, (_, expected, ours) in enumerate(case.per_document()):
        assert len(ours) == len(expected)
        for k, (theirs, row) in enumerate(zip(expected, ours, strict=True)):
            for field in fields:
                raw = dig(theirs, field.path)
                want = None if raw is None else field.convert(raw)
                got = field.ours(row[field.column])
                if got != want:
                    mismatches.append(
                        f"doc {n} tuple {k} {field.column}: ours {got!r}, Elastic {want!r}"
                    )
    assert not mismatches, "\n".join(mismatches)
    assert {row["log_type"] for row in case.rows} == {case.oracle.kind}


def set_mismatches(
    document: dict[str, Any], ours: list[Row], fields: tuple[SetField, ...]
) -> list[str]:
    """Each ECS array whose set differs from the set of our non-null values of its column."""
    out = []
    for field in fields:
        theirs = {field.convert(v) for v in as_list(dig(document, field.path))}
        mine = {row[field.column] for row in ours if row[field.column] is not None}
        if mine != theirs:
            name = ".".join(field.path)
            out.append(f"{name}: ours {sorted(mine, key=repr)}, Elastic {sorted(theirs, key=repr)}")
    return out


def test_ecs_arrays_match_as_sets(case: Case) -> None:
    """Elastic's per-record ECS arrays hold exactly the distinct values of our rows."""
    fields = SET_FIELDS[case.oracle.kind]
    mismatches = [
        f"doc {n} {line}"
        for n, (document, _, ours) in enumerate(case.per_document())
        for line in set_mismatches(document, ours, fields)
    ]
    assert not mismatches, "\n".join(mismatches)


def test_azure_ids_match(case: Case) -> None:
    """Subscription and resource group agree with Elastic's ``azure.*`` when it has them."""
    documents = case.per_document()
    present = tuple(
        field
        for field in ID_FIELDS[case.oracle.kind]
        if any(dig(document, field.path) is not None for document, _, _ in documents)
    )
    if not present:
        pytest.skip(f"{case.oracle.expected} has no azure.* ids (older Elastic pipeline)")
    mismatches = [
        f"doc {n} {line}"
        for n, (document, _, ours) in enumerate(documents)
        for line in set_mismatches(document, ours, present)
    ]
    assert not mismatches, "\n".join(mismatches)
