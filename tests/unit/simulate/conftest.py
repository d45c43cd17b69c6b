"""One small simulated estate shared by the simulator's tests (it takes about a second)."""

import pyarrow as pa
import pytest

from flowcdr.formats import parse_blob
from flowcdr.simulate import SCENARIOS, LogFormat, MemorySink, Plan, Simulation

START_MS = 1_795_000_000_000 // 3_600_000 * 3_600_000
PLAN = Plan(START_MS, 3, 11, 20, tuple(LogFormat), tuple(SCENARIOS))


@pytest.fixture(scope="session")
def simulated() -> tuple[Simulation, MemorySink]:
    simulation = Simulation(PLAN)
    sink = MemorySink()
    simulation.run(sink)
    return simulation, sink


@pytest.fixture(scope="session")
def flows(simulated: tuple[Simulation, MemorySink]) -> pa.Table:
    """Every flow of every blob, parsed by flowcdr.formats (dictionary columns as plain text)."""
    _, sink = simulated
    table = pa.concat_tables(parse_blob(sink.content(*key)).table for key in sink.blobs)
    for index, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type):
            table = table.set_column(index, column.name, table[index].cast(pa.string()))
    return table
