"""Checkpoints in Azure Table storage, for the Function: ETag-conditional, so concurrent
invocations (the blob trigger fires on every commit, possibly in parallel) cannot both advance.

Row keys are hashes: blob names hold ``/``, which Table keys refuse. The partition is a short
hash prefix, spreading rows so no single partition takes every write of a busy account.
"""

import hashlib
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from flowcdr.collect.checkpoint import Checkpoint, expired, prefix_from_json, prefix_json
from flowcdr.collect.errors import SourceError

CHECKPOINT_TABLE = "flowlogcheckpoints"


class TableCheckpoints:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    @classmethod
    def open(cls, service: TableServiceClient, name: str = CHECKPOINT_TABLE) -> "TableCheckpoints":
        try:
            return cls(service.create_table_if_not_exists(name))
        except AzureError as error:
            raise SourceError(f"checkpoint table {name!r}: {error.message}") from None

    def load(self, blob: str) -> Checkpoint:
        partition, row = _keys(blob)
        try:
            entity = self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return Checkpoint()
        return Checkpoint(
            int(entity["offset"]),
            prefix_from_json(entity["prefix"]),
            entity.get("etag") or None,
            entity.metadata["etag"],
            entity.get("created"),
        )

    def save(self, blob: str, checkpoint: Checkpoint) -> str | None:
        partition, row = _keys(blob)
        entity = {
            "PartitionKey": partition,
            "RowKey": row,
            "blob": blob,
            "offset": checkpoint.offset,
            "prefix": prefix_json(checkpoint.prefix),
            "etag": checkpoint.etag or "",
            **({"created": checkpoint.created} if checkpoint.created is not None else {}),
        }
        try:
            if checkpoint.version is None:
                written = self._table.create_entity(entity)
            else:
                written = self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=checkpoint.version,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            return None
        version: str = written["etag"]
        return version

    def prune(self, before: datetime, idle_since: datetime) -> int:
        """A scan of the rows idle since ``idle_since`` (Table storage has no other index than
        the keys, which are hashes); each expired one is deleted only at the version seen."""
        pruned = 0
        try:
            idle = self._table.query_entities(
                "Timestamp lt @idle",
                parameters={"idle": idle_since.astimezone(UTC)},
                select=["PartitionKey", "RowKey", "blob"],
            )
            for entity in idle:
                if not expired(str(entity.get("blob", "")), before):
                    continue
                try:
                    self._table.delete_entity(
                        entity["PartitionKey"],
                        entity["RowKey"],
                        etag=entity.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                except ResourceModifiedError:
                    continue  # saved meanwhile: still in use
                pruned += 1
        except AzureError as error:
            raise SourceError(f"pruning checkpoints: {error.message}") from None
        return pruned


def _keys(blob: str) -> tuple[str, str]:
    digest = hashlib.sha256(blob.encode()).hexdigest()
    return digest[:2], digest
