"""Which flow store a gateway runs (``flows_backend``): DuckDB embedded in the process, or
ClickHouse, on a server or cluster when ``clickhouse_url`` is set and in-process chDB when not.

Both answer the same calls with the same results (the parity tests); ``flowquery``, detection
and data health take either store's reader.
"""

from pathlib import Path

import duckdb

from flowcdr.config import Settings
from flowcdr.errors import FlowcdrError
from flowcdr.store.clickhouse import Connection
from flowcdr.store.clickhouse_flows import ClickFlowStore
from flowcdr.store.clickhouse_schema import Layout
from flowcdr.store.flows import DuckFlowStore, MergeListener

AnyFlowStore = DuckFlowStore | ClickFlowStore
FlowReader = duckdb.DuckDBPyConnection | Connection


def layout(settings: Settings) -> Layout:
    """The ClickHouse database, cluster and retentions the settings ask for. A rollup is
    kept at least as long as what it summarizes: the insights read it in place of the flows."""
    minute_days = max(settings.clickhouse_minute_rollup_days, settings.retention_days)
    return Layout(
        database=settings.clickhouse_database,
        cluster=settings.clickhouse_cluster,
        flows_days=settings.retention_days,
        minute_days=minute_days,
        hour_days=max(settings.clickhouse_hour_rollup_days, minute_days),
    )


def open_flow_store(settings: Settings, on_merge: MergeListener | None = None) -> AnyFlowStore:
    if settings.flows_backend == "duckdb":
        return DuckFlowStore.open(
            settings.data_dir / "flows.duckdb",
            merge_seconds=settings.ingest_merge_seconds,
            on_merge=on_merge,
            memory_limit=settings.duckdb_memory_limit,
            temp_directory=settings.duckdb_spill_folder,
        )
    password = settings.clickhouse_password
    url = settings.clickhouse_url
    embedded: Path | None = None if url else settings.data_dir / "flows.chdb"
    try:
        return ClickFlowStore.open(
            layout(settings),
            url=url,
            user=settings.clickhouse_user,
            password=password.get_secret_value() if password else "",
            path=embedded,
            on_merge=on_merge,
        )
    except ImportError as error:
        raise FlowcdrError(
            f"flows_backend = clickhouse needs the clickhouse extra "
            f"(pip install 'flowcdr[clickhouse]'): {error}"
        ) from None
