"""The root of flowcdr's exceptions; every stage raises its own family below it.

    FlowcdrError
     └── FormatError      input that is not a flow log (flowcdr.formats)

This module imports nothing, so the pure ``formats`` stage can depend on it.
"""


class FlowcdrError(Exception):
    """Base class of every error flowcdr raises on purpose."""
