"""Errors of the collect stage.

    FlowcdrError
     └── CollectError            collection cannot go on as configured
          ├── SourceError        a flow-log source cannot be read (names the container or blob)
          │    ├── BlobChangedError   the blob moved on between two calls (412): read it again
          │    └── UnsupportedBlobError  an append or page blob: refused, counted, never read
          └── DeliveryError      the gateway stayed away past the retry deadline; the
               │                 checkpoint did not advance, the next pass tries again
               └── CallerRefusedError  the gateway refused our token (401/403): stop

A refused *batch* (another 4xx) is not an error: it becomes a dead letter and collection goes on.
"""

from flowcdr.errors import FlowcdrError


class CollectError(FlowcdrError):
    """Base of the collect stage's errors; messages never carry a token or an account key."""


class SourceError(CollectError):
    """A listing, block list or read failed; the message names the blob or container."""


class BlobChangedError(SourceError):
    """The blob's ETag changed between its block list and the ranged read."""


class UnsupportedBlobError(SourceError):
    """The blob is not a block blob, so it has no block list to checkpoint by.

    Network Watcher writes block blobs only; an append blob under a flow-log name was written
    by something else, and reading it by byte offsets could start mid-record. ``etag`` is the
    refused version: it is not looked at again until it changes.
    """

    def __init__(self, message: str, etag: str) -> None:
        super().__init__(message)
        self.etag = etag


class DeliveryError(CollectError):
    """The gateway could not take a batch; nothing was acknowledged past the last checkpoint."""


class CallerRefusedError(DeliveryError):
    """The token is wrong, expired or revoked: every batch would be refused, so stop."""
