"""Groups of tuple strings to Arrow tables: the fast path, pipelined, with the reference parser
as the fallback.

Runs of groups are rewritten into CSV lines (``tuplecsv``), typed by Arrow in worker threads,
then checked and completed (``columns``). Any run the fast path cannot prove clean is split
around the groups it refused, and those go through ``tuples.parse_tuple``, which also explains
every tuple the fast path rejects, so both paths agree by construction.
"""

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.formats.columns import Context, Int, context_columns, rows_table, tuple_columns
from flowcdr.formats.envelope import DECODE_ERRORS
from flowcdr.formats.records import Group, Grouped
from flowcdr.formats.report import ParseReport, Reject
from flowcdr.formats.schema import FLOW_SCHEMA
from flowcdr.formats.tuplecsv import clean, csv_lines, read_csv
from flowcdr.formats.tuples import TupleProblem, TupleRow, parse_tuple

# CSV runs typed at once, each on one thread, while this thread prepares and finishes others.
_WORKERS = 2


class _Contexts:
    """The Context for the groups walked so far, rebuilt only when the walk met new strings."""

    def __init__(self, grouped: Grouped) -> None:
        self._grouped = grouped
        self._sizes: tuple[int, ...] = ()
        self._context: Context | None = None

    def current(self) -> Context:
        g = self._grouped
        sizes = (len(g.identities), len(g.rules.values), len(g.macs.values), len(g.acls.values))
        if self._context is None or sizes != self._sizes:
            self._context, self._sizes = Context.of(g), sizes
        return self._context


def tables(
    groups: Iterable[Group], grouped: Grouped, report: ParseReport, chunk_bytes: int
) -> Iterator[pa.Table]:
    """Arrow tables for the groups, in input order, in runs of one layout up to chunk_bytes.

    Pipelined over two cores: while a worker thread types run k's CSV (Arrow releases the
    GIL), this thread walks the records of run k+1, rewrites them, then builds run k's columns.
    """
    contexts = _Contexts(grouped)
    pending: deque[_Pending] = deque()
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="flowcdr-csv") as pool:
        for run in _runs(groups, chunk_bytes):
            pending.append(_start(run, pool))
            if len(pending) > _WORKERS:
                yield from _finish(pending.popleft(), contexts.current(), report)
        while pending:
            yield from _finish(pending.popleft(), contexts.current(), report)


def _runs(groups: Iterable[Group], chunk_bytes: int) -> Iterator[list[Group]]:
    run: list[Group] = []
    size = 0
    for group in groups:
        if run and (group.layout is not run[0].layout or size >= chunk_bytes):
            yield run
            run, size = [], 0
        run.append(group)
        size += len(group.raw)
    if run:
        yield run


@dataclass
class _Pending:
    """A run whose CSV lines are being typed in the background (parsed is None if unclean)."""

    run: list[Group]
    counts: Int
    parsed: "Future[pa.Table | None] | None"


def _start(run: list[Group], pool: ThreadPoolExecutor) -> _Pending:
    lines = csv_lines(run, run[0].layout)
    if lines is None:
        return _Pending(run, np.zeros(0, np.int64), None)
    buffer, counts = lines
    return _Pending(run, counts, pool.submit(read_csv, buffer, run[0].layout))


def _finish(pending: _Pending, context: Context, report: ParseReport) -> Iterator[pa.Table]:
    parsed = pending.parsed.result() if pending.parsed is not None else None
    table = _typed_table(pending.run, parsed, pending.counts, context, report)
    if table is not None:
        yield table
        return
    # Find the groups the fast path cannot take; retry it on the clean stretches between them.
    start = 0
    for index, group in enumerate(pending.run):
        if not clean(group.raw):
            yield from _clean_tables(pending.run[start:index], context, report)
            yield _reference_table([group], context, report)
            start = index + 1
    yield from _clean_tables(pending.run[start:], context, report)


def _clean_tables(run: list[Group], context: Context, report: ParseReport) -> Iterable[pa.Table]:
    if run:
        table = _fast_table(run, context, report)
        yield table if table is not None else _reference_table(run, context, report)


def _fast_table(run: list[Group], context: Context, report: ParseReport) -> pa.Table | None:
    """The run's table in one go, or None when the fast path cannot prove the run clean."""
    lines = csv_lines(run, run[0].layout)
    if lines is None:
        return None
    buffer, counts = lines
    return _typed_table(run, read_csv(buffer, run[0].layout), counts, context, report)


def _typed_table(
    groups: list[Group],
    parsed: pa.Table | None,
    counts: Int,
    context: Context,
    report: ParseReport,
) -> pa.Table | None:
    """Check and finish the CSV-typed tuples of clean groups; None sends them to the fallback."""
    if parsed is None or parsed.num_rows != int(counts.sum()):
        return None
    columns, valid = tuple_columns(parsed, groups[0].layout)
    if not valid.all():
        group_of_row = np.repeat(np.arange(len(groups)), counts)
        first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
        _explain(groups, np.flatnonzero(~valid), group_of_row, first_row, report)
        keep = pa.array(valid)
        columns = {name: pc.filter(col, keep) for name, col in columns.items()}
        counts = np.bincount(group_of_row[valid], minlength=len(groups))
    columns.update(context_columns(groups, counts, context))
    return pa.Table.from_arrays([columns[name] for name in FLOW_SCHEMA.names], schema=FLOW_SCHEMA)


def _explain(
    groups: list[Group], bad: Int, group_of_row: Int, first_row: Int, report: ParseReport
) -> None:
    """Count refused rows and let the reference parser say why for the first few."""
    wanted = report.wants_reasons()
    for position, row in enumerate(bad.tolist()):
        group = groups[int(group_of_row[row])]
        index = row - int(first_row[group_of_row[row]])
        if position < wanted:
            text = msgspec.json.decode(group.raw)[index]
            problem = parse_tuple(text, group.layout)
            assert isinstance(problem, TupleProblem), f"fast path refused a valid tuple {text!r}"
            report.reject(_reject(group, index, problem))
        else:
            report.rejected += 1


def _reject(group: Group, index: int | None, problem: TupleProblem) -> Reject:
    return Reject(group.record, group.path(), index, problem.field, problem.value, problem.reason)


def _reference_table(run: list[Group], context: Context, report: ParseReport) -> pa.Table:
    """The same table, built tuple by tuple with the reference parser."""
    rows: list[TupleRow] = []
    group_of_row: list[int] = []
    for position, group in enumerate(run):
        try:
            items = msgspec.json.decode(group.raw)
        except DECODE_ERRORS:
            items = None
        if not isinstance(items, list):
            problem = TupleProblem("flowTuples", bytes(group.raw)[:40].decode("utf-8", "replace"),
                                   "expected an array of tuple strings")  # fmt: skip
            report.reject(_reject(group, None, problem))
            continue
        for index, item in enumerate(items):
            if not isinstance(item, str):
                problem = TupleProblem("tuple", repr(item)[:40], "expected a string")
                report.reject(_reject(group, index, problem))
                continue
            parsed = parse_tuple(item, group.layout)
            if isinstance(parsed, TupleProblem):
                report.reject(_reject(group, index, parsed))
            else:
                rows.append(parsed)
                group_of_row.append(position)
    counts = np.bincount(np.asarray(group_of_row, dtype=np.int64), minlength=len(run))
    return rows_table(rows, counts, run, context)
