"""Sessions become the tuples Azure logs: B, C every 5 minutes, E; deltas that sum to totals."""

import numpy as np

from flowcdr.simulate.observe import BEGIN, CONTINUE, DENY, END, NO_COUNT, observe
from flowcdr.simulate.sessions import NOT_OURS, Rule, make_sessions

T0 = 1_795_132_800_000


def sessions(duration_ms: int, *, src_vm: int, dst_vm: int, denied: bool = False):
    return make_sessions(
        1,
        start_ms=T0,
        duration_ms=duration_ms,
        src="10.1.0.4",
        dst="10.1.64.4",
        src_port=40_000,
        dst_port=8080,
        src_vm=src_vm,
        dst_vm=dst_vm,
        rule_out=Rule.ALLOW_VNET_OUT,
        rule_in=Rule.DENY_ALL_IN if denied else Rule.ALLOW_WEB_TO_APP,
        denied=denied,
        packets_sent=1_001,
        bytes_sent=1_234_567,
        packets_received=77,
        bytes_received=9_999,
    )


def test_a_long_session_has_begin_continues_and_end_with_deltas_summing_to_totals() -> None:
    flows = observe(sessions(17 * 60_000 + 5, src_vm=NOT_OURS, dst_vm=3))
    assert flows.state.tolist() == [BEGIN, CONTINUE, CONTINUE, CONTINUE, END]
    assert (flows.time_ms - T0).tolist() == [0, 300_000, 600_000, 900_000, 17 * 60_000 + 5]
    assert flows.packets_sent[0] == NO_COUNT
    assert flows.packets_sent[1:].sum() == 1_001
    assert flows.bytes_sent[1:].sum() == 1_234_567
    assert flows.bytes_received[1:].sum() == 9_999
    assert (flows.bytes_sent[1:] >= 0).all()
    assert flows.inbound.all()
    assert set(flows.vm.tolist()) == {3}


def test_a_short_session_is_begin_and_end() -> None:
    flows = observe(sessions(1_500, src_vm=2, dst_vm=NOT_OURS))
    assert flows.state.tolist() == [BEGIN, END]
    assert flows.packets_received.tolist() == [NO_COUNT, 77]
    assert not flows.inbound.any()


def test_internal_traffic_is_logged_at_both_nics_under_their_own_rules() -> None:
    flows = observe(sessions(1_500, src_vm=2, dst_vm=3))
    assert flows.vm.tolist() == [2, 2, 3, 3]
    assert flows.inbound.tolist() == [False, False, True, True]
    assert flows.rule.tolist() == [Rule.ALLOW_VNET_OUT] * 2 + [Rule.ALLOW_WEB_TO_APP] * 2


def test_a_denied_session_is_one_deny_at_the_destination_and_an_attempt_at_the_source() -> None:
    flows = observe(sessions(3_000, src_vm=2, dst_vm=3, denied=True))
    at_destination = flows.vm == 3
    assert flows.state[at_destination].tolist() == [DENY]
    assert flows.packets_sent[at_destination].tolist() == [NO_COUNT]
    assert flows.rule[at_destination].tolist() == [Rule.DENY_ALL_IN]
    assert flows.state[~at_destination].tolist() == [BEGIN, END]


def test_many_sessions_keep_their_totals() -> None:
    rng = np.random.default_rng(5)
    n = 500
    batch = make_sessions(
        n,
        start_ms=T0 + rng.integers(0, 3_600_000, n),
        duration_ms=rng.integers(0, 7_200_000, n),
        src="10.0.0.4",
        dst="20.42.73.24",
        src_port=rng.integers(32_768, 65_536, n),
        dst_port=443,
        src_vm=1,
        packets_sent=rng.integers(1, 10_000, n),
        bytes_sent=rng.integers(60, 10**9, n),
        packets_received=rng.integers(0, 10_000, n),
        bytes_received=rng.integers(0, 10**9, n),
    )
    flows = observe(batch)
    counted = flows.bytes_sent != NO_COUNT
    assert flows.bytes_sent[counted].sum() == batch.bytes_sent.sum()
    assert flows.packets_received[counted].sum() == batch.packets_received.sum()
    assert (flows.state == BEGIN).sum() == (flows.state == END).sum() == n
