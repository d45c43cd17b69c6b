"""Coverage-guided byte fuzzing of ``parse_blob`` with atheris (libFuzzer), run as a script.

libFuzzer ends its process when done, so ``test_parser_fuzz.py`` runs this file in a child with
bounds (``-runs``, ``-max_total_time``, ``-timeout``, ``-rss_limit_mb``). Anything but a parse
result or ``FormatError`` is a crash: libFuzzer prints the input and exits non-zero.

Only flowcdr's modules are instrumented: pyarrow, numpy and msgspec are imported first so that
their (large) Python parts are not, which keeps start-up to a second instead of forty.
"""

import sys

import atheris
import msgspec
import numpy
import pyarrow
import pyarrow.compute

with atheris.instrument_imports(include=["flowcdr"]):
    from flowcdr.formats import FormatError, parse_blob

PRELOADED = (msgspec, numpy, pyarrow)  # imported for their side effect on instrumentation


def one_input(data: bytes) -> None:
    try:
        result = parse_blob(data, source="fuzz")
    except FormatError:
        return
    if result.report.flows != result.table.num_rows:
        raise AssertionError(f"report counts {result.report.flows}, table has a different size")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
