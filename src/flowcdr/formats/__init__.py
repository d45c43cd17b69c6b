"""Azure flow-log formats: bytes in, normalized Arrow out (NSG v1/v2, VNet v4).

Pure code: no I/O, and no other flowcdr stage imported.
"""

from flowcdr.formats.errors import FormatError
from flowcdr.formats.layout import Layout
from flowcdr.formats.parse import ParseResult, parse_blob
from flowcdr.formats.report import ParseReport, Reject, Skip
from flowcdr.formats.schema import COLUMNS, FLOW_SCHEMA

__all__ = [
    "COLUMNS",
    "FLOW_SCHEMA",
    "FormatError",
    "Layout",
    "ParseReport",
    "ParseResult",
    "Reject",
    "Skip",
    "parse_blob",
]
