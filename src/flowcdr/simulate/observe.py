"""What each NIC logs of the sessions: flow tuples with states and delta counters.

The rules are the platform's (see research/formats.md): a NIC logs a flow when it starts (``B``,
no counters), every five minutes while it lasts (``C``) and when it ends (``E``); ``C`` and ``E``
carry the packets and bytes since the previous tuple, so their sums are the session's totals.
A denied flow is one tuple and nothing more. Traffic between two NICs of the estate is logged by
both: outbound at the source, inbound at the destination, each under its own NSG rule.
"""

from dataclasses import dataclass, fields

import numpy as np

from flowcdr.simulate.sessions import Sessions

CONTINUE_EVERY_MS = 300_000
BEGIN, CONTINUE, END, DENY = 0, 1, 2, 3
NO_COUNT = -1


@dataclass
class Flows:
    """Flow tuples as logged at ``vm``'s NIC, in no particular order; counters are deltas.

    Counters are ``NO_COUNT`` on begin and deny tuples.
    """

    time_ms: np.ndarray
    vm: np.ndarray
    rule: np.ndarray
    inbound: np.ndarray
    state: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    src_port: np.ndarray
    dst_port: np.ndarray
    protocol: np.ndarray
    encrypted: np.ndarray
    packets_sent: np.ndarray
    bytes_sent: np.ndarray
    packets_received: np.ndarray
    bytes_received: np.ndarray

    def __len__(self) -> int:
        return len(self.time_ms)

    def take(self, index: np.ndarray | slice) -> "Flows":
        """The flows at ``index``: positions, a boolean mask, or a slice (then views, no copy)."""
        return Flows(*(getattr(self, f.name)[index] for f in fields(self)))


def concat_flows(parts: list[Flows]) -> Flows:
    return Flows(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Flows)))


def observe(sessions: Sessions) -> Flows:
    """Every tuple both ends log of ``sessions``: the source's view, then the destination's."""
    outbound = sessions.take(sessions.src_vm >= 0)
    inbound = sessions.take(sessions.dst_vm >= 0)
    return concat_flows(
        [
            _side(outbound, outbound.src_vm, outbound.rule_out, inbound=False),
            _side(inbound, inbound.dst_vm, inbound.rule_in, inbound=True),
        ]
    )


def _side(sessions: Sessions, vm: np.ndarray, rule: np.ndarray, *, inbound: bool) -> Flows:
    """The tuples one NIC logs: one per denied session, else begin, continuing..., end."""
    denied = sessions.denied if inbound else np.zeros(len(sessions), dtype=np.bool_)
    duration = np.maximum(sessions.duration_ms, 0)
    continues = np.where(denied, 0, np.maximum(duration - 1, 0) // CONTINUE_EVERY_MS)
    per_session = np.where(denied, 1, 2 + continues)
    owner = np.repeat(np.arange(len(sessions)), per_session)
    first = np.cumsum(per_session) - per_session
    step = np.arange(len(owner)) - first[owner]
    last = step == per_session[owner] - 1
    start = sessions.start_ms[owner]
    time_ms = np.where(last, start + duration[owner], start + step * CONTINUE_EVERY_MS)
    state = np.where(step == 0, BEGIN, np.where(last, END, CONTINUE)).astype(np.uint8)
    state[denied[owner]] = DENY
    # Share of the session behind each tuple: counters are the growth of floor(total * share).
    safe = np.maximum(duration[owner], 1)
    share = np.where(last, 1.0, np.minimum(step * CONTINUE_EVERY_MS / safe, 1.0))
    previous = np.where(step <= 1, 0.0, np.minimum((step - 1) * CONTINUE_EVERY_MS / safe, 1.0))
    counted = (state == CONTINUE) | (state == END)

    def delta(total: np.ndarray) -> np.ndarray:
        values = total[owner]
        grown = np.floor(values * share) - np.floor(values * previous)
        return np.where(counted, grown, NO_COUNT).astype(np.int64)

    return Flows(
        time_ms=time_ms,
        vm=vm[owner],
        rule=rule[owner],
        inbound=np.full(len(owner), inbound),
        state=state,
        src=sessions.src[owner],
        dst=sessions.dst[owner],
        src_port=sessions.src_port[owner],
        dst_port=sessions.dst_port[owner],
        protocol=sessions.protocol[owner],
        encrypted=sessions.encrypted[owner],
        packets_sent=delta(sessions.packets_sent),
        bytes_sent=delta(sessions.bytes_sent),
        packets_received=delta(sessions.packets_received),
        bytes_received=delta(sessions.bytes_received),
    )
