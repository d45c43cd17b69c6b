"""Flow tuples to the bytes Azure writes: NSG v2 and VNet v4 records, and their blob names.

A record is one NIC's minute, written shortly after the minute ends (so the records of a
minute 59 land in the next hour's blob, as in Microsoft's samples). Tuple text is built for a
whole batch at once by Arrow's string kernels, each tuple already quoted and followed by a comma;
a record then only slices its tuples' bytes out of that one buffer.
"""

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.simulate.observe import DENY, NO_COUNT, Flows
from flowcdr.simulate.sessions import RULE_NAMES, TCP, UDP
from flowcdr.simulate.topology import Topology, Vm

MINUTE_MS = 60_000
# Record times have seven fractional digits: 100 ns ticks. A record is written this many ticks
# after its minute ends (0.5 to 30 s, Azure's delay in its samples).
_TICKS_PER_MS = 10_000
_WRITE_DELAY_TICKS = (5_000_000, 300_000_000)


class LogFormat(StrEnum):
    """The two flow logs: NSG flow logs (v2) and VNet flow logs (v4), each in its container."""

    NSG = "nsg"
    VNET = "vnet"

    @property
    def container(self) -> str:
        if self is LogFormat.NSG:
            return "insights-logs-networksecuritygroupflowevent"
        return "insights-logs-flowlogflowevent"


@dataclass(frozen=True)
class Record:
    """One record as written: where it goes, when, and its JSON text."""

    container: str
    blob: str
    time_ms: int
    data: bytes


def sort_for_records(flows: Flows) -> Flows:
    """Flows ordered by NIC, then as its records list them: by minute, rule, then time."""
    order = np.lexsort((flows.time_ms, flows.rule, flows.time_ms // MINUTE_MS, flows.vm))
    return flows.take(order)


def encode_records(
    flows: Flows, topology: Topology, log_format: LogFormat, rng: np.random.Generator
) -> Iterator[Record]:
    """The records of ``flows`` (sorted by ``sort_for_records``), each NIC's in time order."""
    if not len(flows):
        return
    text = _tuple_text(flows, log_format)
    data = text.buffers()[2].to_pybytes()
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[: len(flows) + 1].tolist()
    del text  # a copy is in ``data``; the Arrow buffers would double the hour's peak
    minute = flows.time_ms // MINUTE_MS
    record_key = minute * len(topology.vms) + flows.vm
    group_key = record_key * len(RULE_NAMES) + flows.rule
    group_starts = np.flatnonzero(np.diff(group_key, prepend=-1)).tolist()
    group_record_starts = np.diff(record_key[group_starts], prepend=-1) != 0
    record_groups = [*np.flatnonzero(group_record_starts).tolist(), len(group_starts)]
    group_starts.append(len(flows))
    rules = flows.rule.tolist()
    vms = flows.vm.tolist()
    minutes = minute.tolist()
    delays = rng.integers(*_WRITE_DELAY_TICKS, len(record_groups)).tolist()
    names = _BlobNames(log_format)
    templates: dict[int, _Template] = {}
    for r in range(len(record_groups) - 1):
        groups = []
        for g in range(record_groups[r], record_groups[r + 1]):
            first, end = group_starts[g], group_starts[g + 1]
            # Drop the comma after the last tuple of the group.
            groups.append((rules[first], data[offsets[first] : offsets[end] - 1]))
        head = group_starts[record_groups[r]]
        vm = topology.vms[vms[head]]
        template = templates.get(vm.index)
        if template is None:
            template = templates[vm.index] = _template(vm, log_format)
        written = (minutes[head] + 1) * MINUTE_MS * _TICKS_PER_MS + delays[r]
        written_ms = written // _TICKS_PER_MS
        yield Record(
            log_format.container,
            names.blob(vm, written_ms),
            written_ms,
            template.render(_iso_time(written), groups),
        )


def _tuple_text(flows: Flows, log_format: LogFormat) -> pa.Array:
    """Each tuple as ``"<13 fields>",`` in one Arrow string array."""
    nsg = log_format is LogFormat.NSG
    denied = flows.state == DENY
    counters = [
        flows.packets_sent,
        flows.bytes_sent,
        flows.packets_received,
        flows.bytes_received,
    ]
    no_count = counters[0] == NO_COUNT
    if nsg:
        counter_text = [pc.cast(pa.array(c, mask=no_count), pa.string()) for c in counters]
        fields = [
            _text(flows.time_ms // 1000),
            *_addresses(flows),
            _pick(("T", "U"), (flows.protocol == UDP).astype(np.int8)),
            _pick(("O", "I"), flows.inbound.astype(np.int8)),
            _pick(("A", "D"), denied.astype(np.int8)),
            _pick(("B", "C", "E", "B"), flows.state),
            *counter_text,
        ]
    else:
        fields = [
            _text(flows.time_ms),
            *_addresses(flows),
            _pick((str(TCP), str(UDP)), (flows.protocol == UDP).astype(np.int8)),
            _pick(("O", "I"), flows.inbound.astype(np.int8)),
            _pick(("B", "C", "E", "D"), flows.state),
            _pick(("NX", "X"), flows.encrypted.astype(np.int8)),
            *(_text(np.where(no_count, 0, c)) for c in counters),
        ]
    joined = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    quoted: pa.Array = pc.binary_join_element_wise(pa.scalar('"'), joined, pa.scalar('",'), "")
    return quoted


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _addresses(flows: Flows) -> list[pa.Array]:
    return [
        pa.array(flows.src, type=pa.string()),
        pa.array(flows.dst, type=pa.string()),
        _text(flows.src_port),
        _text(flows.dst_port),
    ]


def _pick(words: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pa.array(words).take(pa.array(codes))


def _iso_time(ticks: int) -> str:
    """Azure's record time from 100 ns ticks: ISO 8601 UTC with seven fractional digits."""
    seconds, fraction = divmod(ticks, 10_000_000)
    return f"{_iso_second(seconds)}.{fraction:07d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    """Hundreds of records share each second: format it once."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class _Template:
    """One NIC's record with holes for the time and the tuples of each rule.

    Everything else in a record is the same for every minute of the NIC, so it is encoded
    once: a record is then a join of ready-made bytes.
    """

    after_time: bytes
    group_heads: tuple[bytes, ...]
    group_tail: bytes
    end: bytes

    def render(self, time: str, groups: list[tuple[int, bytes]]) -> bytes:
        parts = [b'{"time":"', time.encode(), self.after_time]
        for number, (rule, tuples) in enumerate(groups):
            if number:
                parts.append(b",")
            parts += (self.group_heads[rule], tuples, self.group_tail)
        parts.append(self.end)
        return b"".join(parts)


def _template(vm: Vm, log_format: LogFormat) -> _Template:
    subnet, vnet = vm.subnet, vm.subnet.vnet
    if log_format is LogFormat.NSG:
        return _Template(
            after_time=(
                f'","systemId":"{subnet.nsg_guid}","macAddress":"{vm.mac}",'
                f'"category":"NetworkSecurityGroupFlowEvent","resourceId":"{subnet.nsg_resource_id}",'
                f'"operationName":"NetworkSecurityGroupFlowEvents",'
                f'"properties":{{"Version":2,"flows":['
            ).encode(),
            group_heads=tuple(
                f'{{"rule":"{rule}","flows":[{{"mac":"{vm.mac}","flowTuples":['.encode()
                for rule in RULE_NAMES
            ),
            group_tail=b"]}]}",
            end=b"]}}",
        )
    return _Template(
        after_time=(
            f'","flowLogVersion":4,"flowLogGUID":"{vnet.flow_log_guid}","macAddress":"{vm.mac}",'
            f'"category":"FlowLogFlowEvent","flowLogResourceID":"{vnet.flow_log_resource_id}",'
            f'"targetResourceID":"{vnet.target_resource_id}","operationName":"FlowLogFlowEvent",'
            f'"flowRecords":{{"flows":[{{"aclID":"{subnet.acl_id}","flowGroups":['
        ).encode(),
        group_heads=tuple(f'{{"rule":"{rule}","flowTuples":['.encode() for rule in RULE_NAMES),
        group_tail=b"]}",
        end=b"]}]}}",
    )


class _BlobNames:
    """Blob names as Azure lays them out: resource, hour of the record's write time, MAC."""

    def __init__(self, log_format: LogFormat) -> None:
        self._format = log_format
        self._hours: dict[int, str] = {}

    def blob(self, vm: Vm, written_ms: int) -> str:
        hour = written_ms // 3_600_000
        when = self._hours.get(hour)
        if when is None:
            stamp = dt.datetime.fromtimestamp(hour * 3600, dt.UTC)
            when = self._hours[hour] = stamp.strftime("y=%Y/m=%m/d=%d/h=%H/m=00")
        if self._format is LogFormat.NSG:
            prefix = f"resourceId={vm.subnet.nsg_resource_id}"
        else:
            prefix = f"flowLogResourceID={vm.subnet.vnet.flow_log_resource_id}"
        return f"{prefix}/{when}/macAddress={vm.mac}/PT1H.json"
