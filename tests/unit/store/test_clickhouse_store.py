"""The ClickHouse flow store on chDB: the generated DDL, exactly-once ingest, addresses,
retention. One chDB session serves the module (starting one takes about a second); each test
writes under a tenant of its own."""

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest

from flowcdr.enrich import enrich, stamp
from flowcdr.errors import FlowcdrError
from flowcdr.formats import parse_blob
from flowcdr.formats.schema import STORED_SCHEMA
from flowcdr.store.clickhouse_flows import ClickFlowStore
from flowcdr.store.clickhouse_schema import Layout, address_text, ddl
from flowcdr.store.flows import Admission, Batch

from ..formats.builders import blob, nsg_record

pytestmark = pytest.mark.integration

T0 = 1542110379  # 2018-11-13 11:59:39 UTC
V6 = "2001:db8::a:0:0:1"
# TTL drops flows past retention as they arrive: test data of any date needs a long one.
KEEP = Layout(database="flowcdr_test", flows_days=9000, minute_days=9000, hour_days=9000)


def tuples(count: int, src: str = "10.5.16.4", dst: str = "13.67.143.117") -> list[str]:
    return [f"{T0 + i * 60},{src},{dst},{59932 + i},443,T,O,A,E,1,66,1,66" for i in range(count)]


def batch(tenant: str, key: str, lines: list[str]) -> Batch:
    parsed = parse_blob(blob([nsg_record({"r": {"000D3AF87856": lines}})]))
    table = stamp(enrich(parsed.table), tenant, None)
    answer = {"records": 1, "flows": table.num_rows, "rejected": 0, "skipped": 0}
    return Batch(tenant, key, table, answer, "test")


@pytest.fixture(scope="module")
def store() -> Iterator[ClickFlowStore]:
    opened = ClickFlowStore.open(KEEP)
    yield opened
    opened.close()


def totals(store: ClickFlowStore, tenant: str) -> tuple[int, int, int, int]:
    """Flows and their bytes in ``flows``, and as the minute and hour rollups count them."""
    db = store.reader()
    ((flows, size),) = db.rows(
        "SELECT count(), sum(src_bytes + dst_bytes) FROM flows WHERE tenant_id = {t:String}",
        {"t": tenant},
    )
    rolled = [
        db.rows(
            f"SELECT sum(flows) FROM {table} WHERE tenant_id = {{t:String}} AND dimension = 0",
            {"t": tenant},
        )[0][0]
        or 0
        for table in ("flows_1m", "flows_1h")
    ]
    return flows, size or 0, *rolled


def test_the_flows_table_has_every_stored_column_in_order(store: ClickFlowStore) -> None:
    columns = store.reader().rows(
        "SELECT name, type FROM system.columns WHERE database = 'flowcdr_test' "
        "AND table = 'flows' ORDER BY position"
    )
    assert [name for name, _ in columns] == STORED_SCHEMA.names
    types = dict(columns)
    assert types["src_ip"] == "IPv6"
    assert types["resource_id"] == "LowCardinality(String)"
    assert types["src_bytes"] == "Nullable(UInt64)"
    assert types["time"] == "DateTime64(6, 'UTC')"


def test_a_replayed_batch_is_stored_and_rolled_up_once(store: ClickFlowStore) -> None:
    first = batch("replay", "k1", tuples(3))
    assert store.admit(first) == Admission(first.answer, replay=False)
    assert store.admit(batch("replay", "k1", tuples(3))) == Admission(first.answer, replay=True)
    assert totals(store, "replay") == (3, 396, 3, 3)
    replays = store.reader().rows("SELECT count() FROM ingest_replays WHERE tenant_id = 'replay'")
    assert replays == [(1,)]


def test_a_batch_retried_after_a_crash_between_its_two_inserts_counts_once(
    store: ClickFlowStore,
) -> None:
    """The flows went in, the gateway died before the batch row: the collector retries."""
    store.admit(batch("crash", "k1", tuples(2)))
    store.reader().command("DELETE FROM ingest_batches WHERE tenant_id = 'crash'")
    assert store.admit(batch("crash", "k1", tuples(2))).replay is False
    assert totals(store, "crash") == (2, 264, 2, 2)
    assert store.admit(batch("crash", "k1", tuples(2))).replay is True


def test_keys_are_per_tenant_and_distinct_keys_add_up(store: ClickFlowStore) -> None:
    store.admit(batch("keys-a", "same", tuples(2)))
    store.admit(batch("keys-b", "same", tuples(2)))
    store.admit(batch("keys-a", "other", tuples(2)))
    assert totals(store, "keys-a")[0] == 4
    assert totals(store, "keys-b")[0] == 2


def test_addresses_read_back_as_the_text_formats_wrote(store: ClickFlowStore) -> None:
    store.admit(batch("addresses", "k1", tuples(1, src=V6, dst="::ffff:1.2.3.4")))
    store.admit(batch("addresses", "k2", tuples(1, src="10.0.0.1", dst="fe80::1")))
    found = store.reader().rows(
        f"SELECT {address_text('src_ip')}, {address_text('dst_ip')} "
        "FROM flows WHERE tenant_id = 'addresses' ORDER BY 1"
    )
    # An IPv4-mapped address reads back as plain IPv4: the one text the IPv6 type cannot keep.
    assert found == [("10.0.0.1", "fe80::1"), ("2001:db8::a:0:0:1", "1.2.3.4")]


def test_retention_deletes_flows_and_whole_rollup_buckets(store: ClickFlowStore) -> None:
    store.admit(batch("retention", "k1", tuples(3)))  # 11:59:39, 12:00:39, 12:01:39
    cutoff = dt.datetime.fromtimestamp(T0 + 60, dt.UTC)
    deleted = store.delete_older_than(cutoff)
    assert deleted >= 1  # the first flow of this tenant, and any older ones of other tests
    flows, _, minutes, hours = totals(store, "retention")
    assert flows == 2
    assert minutes == 2  # the minute of the first flow is wholly before the cutoff
    assert hours == 2  # so is its hour; the hour holding the cutoff stays whole


def test_a_cluster_layout_creates_replicated_shards_behind_distributed_tables() -> None:
    statements = ddl(Layout(database="fc", cluster="main"))
    assert all("ON CLUSTER `main`" in statement for statement in statements)
    flows = next(s for s in statements if "fc`.flows_local ON" in s and "MergeTree" in s)
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/fc/flows_local', '{replica}')" in flows
    assert "non_replicated_deduplication_window" not in flows
    sharded = "ENGINE = Distributed(`main`, `fc`, flows_local, cityHash64(src_ip, dst_ip, "
    assert any(sharded in statement for statement in statements)


@pytest.mark.parametrize(
    "layout",
    [
        {"database": "flows; DROP TABLE x"},
        {"cluster": "a`b"},
        {"flows_days": 0},
        {"flows_days": 60, "minute_days": 30},
    ],
)
def test_a_layout_refuses_bad_names_and_retentions(layout: dict[str, object]) -> None:
    with pytest.raises(FlowcdrError, match="clickhouse"):
        Layout(**layout)  # type: ignore[arg-type]


def test_an_empty_batch_is_remembered_without_flows(store: ClickFlowStore) -> None:
    empty = Batch("empty", "k1", batch("empty", "x", tuples(1)).table.slice(0, 0), {}, "test")
    assert store.admit(empty).replay is False
    assert store.admit(empty).replay is True
    assert totals(store, "empty")[0] == 0


def test_a_dictionary_repeating_a_value_is_stored_as_its_values(store: ClickFlowStore) -> None:
    """``formats`` makes distinct dictionaries; a table built otherwise may repeat a value."""
    table = batch("dictionary", "k", tuples(2)).table
    index = table.schema.get_field_index("rule")
    repeated = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["r", "r"]))
    table = table.set_column(index, table.schema.field(index), pa.chunked_array([repeated]))
    store.admit(Batch("dictionary", "k", table, {}, "test"))
    rules = store.reader().rows("SELECT rule FROM flows WHERE tenant_id = 'dictionary'")
    assert rules == [("r",), ("r",)]
