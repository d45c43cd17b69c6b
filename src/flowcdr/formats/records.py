"""From decoded records to groups of tuples with their identity.

A group is one ``flowTuples`` array: every tuple in it shares the record's resource, the rule,
the MAC and (VNet) the ACL. Identity comes from record fields only, never from blob paths.
Repeated strings are interned here once per input, so the tuple parsers can attach them to
millions of rows as dictionary indices.
"""

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from flowcdr.formats.envelope import NSG_CATEGORY, VNET_CATEGORY, Record
from flowcdr.formats.layout import Layout

_HEX = frozenset("0123456789ABCDEF")


class Group(NamedTuple):
    raw: msgspec.Raw
    layout: Layout
    record: int
    outer: int
    inner: int
    identity: int
    rule: int
    mac: int
    acl: int

    def path(self) -> str:
        if self.layout is Layout.VNET_V4:
            return f"flowRecords.flows[{self.outer}].flowGroups[{self.inner}].flowTuples"
        return f"properties.flows[{self.outer}].flows[{self.inner}].flowTuples"


# Builds a Group from a plain tuple in C: a NamedTuple's own __new__ is Python code, and this
# runs once per flowTuples array (over 100k times for a 200 MB blob).
_group = functools.partial(tuple.__new__, Group)


class Interner:
    """Strings to dense ids, in first-seen order."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.values: list[str] = []

    def __call__(self, value: str | None) -> int:
        if value is None:
            return -1
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


class Identity(NamedTuple):
    log_type: int
    version: int
    subscription: int
    resource_group: int
    resource: int


@dataclass
class Grouped:
    """What walking the records has found so far: skips, counts and interned strings."""

    skipped: list[tuple[int, str]] = field(default_factory=list)
    flow_records: int = 0
    identities: list[Identity] = field(default_factory=list)
    identity_ids: dict[Identity, int] = field(default_factory=dict)
    subscriptions: Interner = field(default_factory=Interner)
    resource_groups: Interner = field(default_factory=Interner)
    resources: Interner = field(default_factory=Interner)
    rules: Interner = field(default_factory=Interner)
    macs: Interner = field(default_factory=Interner)
    acls: Interner = field(default_factory=Interner)
    resource_ids: dict[tuple[Layout, str | None], int] = field(default_factory=dict)
    """(layout, raw resource id) to identity id: every record of a NIC repeats the same id."""
    mac_ids: dict[str, int] = field(default_factory=dict)
    """Raw MAC text to its id in ``macs``: a blob repeats a few MACs thousands of times."""

    def mac(self, value: str | None) -> int:
        """The id of a MAC; raises _BadMacError (the caller knows where it was)."""
        if value is None:
            return -1
        found = self.mac_ids.get(value)
        if found is None:
            found = self.mac_ids[value] = self.macs(_mac(value))
        return found

    def identity(self, layout: Layout, resource_id: str | None, key: str) -> int:
        found = self.resource_ids.get((layout, resource_id))
        if found is None:
            found = self._identity(layout, _resource(resource_id, key))
            self.resource_ids[(layout, resource_id)] = found
        return found

    def _identity(self, layout: Layout, resource_id: str) -> int:
        lowered = resource_id.lower()
        parts = lowered.strip("/").split("/")
        key = Identity(
            0 if layout.log_type == "nsg" else 1,
            int(layout),
            self.subscriptions(parts[1]),
            self.resource_groups(parts[3]),
            self.resources(lowered),
        )
        found = self.identity_ids.get(key)
        if found is None:
            found = self.identity_ids[key] = len(self.identities)
            self.identities.append(key)
        return found


class _SkipRecordError(Exception):
    pass


def group_records(records: Iterable[tuple[int, Record]], out: Grouped) -> Iterator[Group]:
    """Walk records into groups, lazily, so the caller can overlap its own work with the walk.

    A record that cannot be used is skipped with its reason in ``out.skipped``; strings are
    interned in ``out`` as they are met.
    """
    for index, record in records:
        try:
            if record.category == NSG_CATEGORY:
                groups = _nsg(out, index, record)
            elif record.category == VNET_CATEGORY:
                groups = _vnet(out, index, record)
            elif record.category is None:
                nested = record.records != msgspec.Raw(b"null")
                raise _SkipRecordError(
                    "a nested 'records' envelope inside records (malformed blob)"
                    if nested
                    else "not a flow-log record: no 'category'"
                )
            else:
                raise _SkipRecordError(f"category {record.category!r} is not a flow log")
        except _SkipRecordError as skip:
            out.skipped.append((index, str(skip)))
        else:
            out.flow_records += 1
            yield from groups


def _resource(value: str | None, key: str) -> str:
    if value is None:
        raise _SkipRecordError(f"missing {key}")
    parts = value.strip("/").split("/")
    if (
        len(parts) < 4
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != ("resourcegroups")
    ):
        raise _SkipRecordError(f"{key} {value!r} is not an ARM resource id")
    return value


class _BadMacError(Exception):
    def __init__(self, value: str) -> None:
        self.value = value

    def at(self, where: str) -> _SkipRecordError:
        return _SkipRecordError(f"{where} {self.value!r} is not a MAC address")


def _mac(value: str) -> str:
    mac = value.replace("-", "").replace(":", "").upper()
    if len(mac) != 12 or not _HEX.issuperset(mac):
        raise _BadMacError(value)
    return mac


def _nsg(out: Grouped, index: int, record: Record) -> list[Group]:
    properties = record.properties
    if properties is None:
        raise _SkipRecordError("NSG record without 'properties'")
    version = properties.Version
    if version not in (1, 2):
        raise _SkipRecordError(f"unsupported NSG flow-log version {version!r}")
    layout = Layout.NSG_V1 if version == 1 else Layout.NSG_V2
    identity = out.identity(layout, record.resourceId, "resourceId")
    groups = []
    for outer, rule in enumerate(properties.flows or ()):
        rule_id = out.rules(rule.rule)
        for inner, tuples in enumerate(rule.flows or ()):
            try:
                mac = out.mac(tuples.mac)
            except _BadMacError as bad:
                raise bad.at(f"properties.flows[{outer}].flows[{inner}].mac") from None
            groups.append(
                _group((tuples.flowTuples, layout, index, outer, inner, identity, rule_id, mac, -1))
            )
    return groups


def _vnet(out: Grouped, index: int, record: Record) -> list[Group]:
    if record.flowLogVersion != 4:
        raise _SkipRecordError(f"unsupported VNet flow-log version {record.flowLogVersion!r}")
    if record.flowRecords is None:
        raise _SkipRecordError("VNet record without 'flowRecords'")
    if record.targetResourceID is not None:
        identity = out.identity(Layout.VNET_V4, record.targetResourceID, "targetResourceID")
    else:
        identity = out.identity(Layout.VNET_V4, record.flowLogResourceID, "flowLogResourceID")
    try:
        mac_id = out.mac(record.macAddress)
    except _BadMacError as bad:
        raise bad.at("macAddress") from None
    layout = Layout.VNET_V4
    groups = []
    for outer, acl in enumerate(record.flowRecords.flows or ()):
        acl_id = out.acls(acl.aclID)
        for inner, group in enumerate(acl.flowGroups or ()):
            rule_id = out.rules(group.rule)
            groups.append(
                _group(
                    (
                        group.flowTuples,
                        layout,
                        index,
                        outer,
                        inner,
                        identity,
                        rule_id,
                        mac_id,
                        acl_id,
                    )
                )
            )
    return groups
