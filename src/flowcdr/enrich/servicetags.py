"""Azure's published address ranges (the service tags file), for the ``azure_public`` flow type.

Microsoft publishes "Azure IP Ranges and Service Tags" weekly as a JSON file
(``ServiceTags_Public_YYYYMMDD.json``: ``{"changeNumber", "cloud", "values": [{"name",
"properties": {"region", "systemService", "addressPrefixes": [...]}}]}``). Its terms do not let
us ship it, and this machine could not fetch it anyway, so the operator downloads it and puts it
where ``service_tags_file`` says (``DATA_DIR/servicetags.json`` by default) or passes it to
``flowcdr detect --service-tags``. Every tag's prefixes together are Azure's public address
space: a flow between a VM and an address in it is ``azure_public``, as Traffic Analytics calls
it, rather than ``external_public``.

The gateway reads the file again when its size or modification time changes; a file that
cannot be used is refused as a whole with an error naming it and the place, and the last good
one stays in force.
"""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import msgspec

from flowcdr.enrich.ranges import AddressRanges, PrefixError
from flowcdr.errors import FlowcdrError

log = logging.getLogger(__name__)


class ServiceTagsError(FlowcdrError):
    """A service tags file that cannot be read or is not in Microsoft's format."""


class _Properties(msgspec.Struct):
    addressPrefixes: list[str]  # noqa: N815 - the JSON key
    region: str = ""
    systemService: str = ""  # noqa: N815


class _Tag(msgspec.Struct):
    name: str
    properties: _Properties


class _File(msgspec.Struct):
    values: list[_Tag]
    cloud: str = ""
    changeNumber: int | None = None  # noqa: N815


_DECODER = msgspec.json.Decoder(_File)


@dataclass(frozen=True)
class ServiceTags:
    """Azure's address space from one service tags file, and what the file said about itself."""

    source: str
    cloud: str
    change_number: int | None
    tags: int
    prefixes: int
    ranges: AddressRanges


def read_service_tags(path: Path) -> ServiceTags:
    """Load a service tags file; raises ``ServiceTagsError`` naming the file and the place."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ServiceTagsError(f"{path}: cannot read the service tags file: {error}") from None
    return parse_service_tags(data, str(path))


def parse_service_tags(data: bytes, source: str) -> ServiceTags:
    try:
        document = _DECODER.decode(data.removeprefix(b"\xef\xbb\xbf"))
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise ServiceTagsError(f"{source}: not a service tags file: {error}") from None
    prefixes: list[str] = []
    owners: list[int] = []
    for number, tag in enumerate(document.values):
        prefixes += tag.properties.addressPrefixes
        owners += [number] * len(tag.properties.addressPrefixes)
    if not prefixes:
        raise ServiceTagsError(f"{source}: no address prefix in {len(document.values)} tags")
    try:
        ranges = AddressRanges.from_prefixes(prefixes)
    except PrefixError as error:
        at = owners[error.index]
        first = owners.index(at)
        raise ServiceTagsError(
            f"{source}: $.values[{at}].properties.addressPrefixes[{error.index - first}] "
            f"(tag {document.values[at].name!r}): {error}"
        ) from None
    return ServiceTags(
        source, document.cloud, document.changeNumber, len(document.values), len(prefixes), ranges
    )


class ServiceTagsFile:
    """The service tags at ``path``, read again whenever the file changes; None without one."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int] | None = None
        self._tags: ServiceTags | None = None

    def current(self) -> ServiceTags | None:
        try:
            status = self._path.stat()
        except FileNotFoundError:
            signature = None
        else:
            signature = (status.st_size, status.st_mtime_ns)
        with self._lock:
            if signature != self._signature:
                self._signature = signature
                self._tags = self._load() if signature is not None else None
            return self._tags

    def _load(self) -> ServiceTags | None:
        try:
            tags = read_service_tags(self._path)
        except ServiceTagsError as error:
            kept = "the previous file stays in force" if self._tags else "none in force"
            log.error("service tags left out: %s (%s)", error, kept)
            return self._tags
        log.info(
            "service tags: %s cloud, change %s, %d tags, %d prefixes in %d ranges from %s",
            tags.cloud or "unnamed",
            tags.change_number,
            tags.tags,
            tags.prefixes,
            len(tags.ranges),
            self._path,
        )
        return tags
