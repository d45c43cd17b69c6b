"""``--azure``: blobs in a real storage account (or Azurite), staged and committed as Azure does.

Each append stages the new record blocks and commits the whole list again with the tail last,
so a collector polling the account sees exactly what the platform's writer produces, block ids
and all. A blob first touched by this run is started afresh (head, records, tail).
"""

import contextlib

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobBlock, BlobServiceClient, ContainerClient

from flowcdr.simulate.sink import HEAD, TAIL, record_blocks

# Every block id of a blob must have the same length; the SDK base64-encodes them.
_HEAD_ID = "head0000"
_TAIL_ID = "tail0000"


def _record_id(number: int) -> str:
    return f"r{number:07d}"


class AzureSink:
    """Writes to the account of ``connection_string``; creates missing containers."""

    def __init__(self, connection_string: str) -> None:
        self._service = BlobServiceClient.from_connection_string(connection_string)
        self._containers: dict[str, ContainerClient] = {}
        self._blocks: dict[tuple[str, str], list[str]] = {}

    def append(self, container: str, blob: str, records: list[bytes]) -> None:
        client = self._container(container).get_blob_client(blob)
        committed = self._blocks.get((container, blob))
        first = committed is None
        if committed is None:
            committed = self._blocks[(container, blob)] = []
            client.stage_block(_HEAD_ID, HEAD)
            client.stage_block(_TAIL_ID, TAIL)
        for block in record_blocks(records, first=first):
            block_id = _record_id(len(committed))
            client.stage_block(block_id, block)
            committed.append(block_id)
        ids = [_HEAD_ID, *committed, _TAIL_ID]
        client.commit_block_list([BlobBlock(block_id=i) for i in ids])

    def finish(self, container: str, blob: str) -> None:
        self._blocks.pop((container, blob), None)

    def _container(self, name: str) -> ContainerClient:
        client = self._containers.get(name)
        if client is None:
            client = self._containers[name] = self._service.get_container_client(name)
            with contextlib.suppress(ResourceExistsError):
                client.create_container()
        return client

    def close(self) -> None:
        self._service.close()
