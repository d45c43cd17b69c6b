from flowcdr.collect.plan import plan_reading
from flowcdr.collect.source import Block

H, T = Block("A" + "0" * 32, 12), Block("Z" + "0" * 32, 2)
B1, B2, B3 = Block("B1", 100), Block("B2", 50), Block("B3", 70)


def test_first_pass_skips_head_and_tail() -> None:
    plan = plan_reading([H, B1, B2, T], [], budget=1 << 20)
    assert [(s.index, s.offset) for s in plan.spans] == [(1, 12), (2, 112)]
    assert (plan.start, plan.end, plan.caught_up, plan.rewritten) == (12, 162, True, False)


def test_only_blocks_after_the_prefix_are_read() -> None:
    plan = plan_reading([H, B1, B2, B3, T], [H, B1], budget=1 << 20)
    assert [s.block for s in plan.spans] == [B2, B3]
    assert plan.start == 112


def test_nothing_new_plans_no_span_and_so_no_zero_length_range() -> None:
    plan = plan_reading([H, B1, T], [H, B1], budget=1 << 20)
    assert plan.spans == []
    assert plan.caught_up
    assert plan.reached == 2
    assert plan_reading([H, T], [], budget=1 << 20).spans == []
    assert plan_reading([], [], budget=1 << 20).spans == []


def test_budget_bounds_the_read_but_one_block_always_fits() -> None:
    plan = plan_reading([H, B1, B2, B3, T], [], budget=120)
    assert [s.block for s in plan.spans] == [B1]
    assert not plan.caught_up
    assert [s.block for s in plan_reading([H, B1, T], [], budget=1).spans] == [B1]


def test_head_and_tail_known_by_size_when_ids_differ() -> None:
    head, tail = Block("h", 12), Block("t", 2)
    assert [s.block for s in plan_reading([head, B1, tail], [], 1 << 20).spans] == [B1]


def test_unrecognised_head_and_tail_are_read_as_data() -> None:
    whole = Block("one", 500)
    assert [s.offset for s in plan_reading([whole], [], 1 << 20).spans] == [0]


def test_a_changed_prefix_is_a_rewrite_read_on_from_the_first_change() -> None:
    changed = Block("B2x", 50)
    plan = plan_reading([H, B1, changed, B3, T], [H, B1, B2], budget=1 << 20)
    assert plan.rewritten
    assert plan.kept == 2
    assert [s.block for s in plan.spans] == [changed, B3]


def test_reads_cut_the_spans_at_block_boundaries_under_the_limit() -> None:
    plan = plan_reading([H, B1, B2, B3, T], [], budget=1 << 20)
    reads = plan.reads(160)
    assert [[s.block for s in r.spans] for r in reads] == [[B1, B2], [B3]]
    assert [(r.start, r.length) for r in reads] == [(12, 150), (162, 70)]
    assert [len(r.spans) for r in plan.reads(1)] == [1, 1, 1]  # a block over the limit alone
