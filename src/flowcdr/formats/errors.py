"""Errors of the formats stage."""

from flowcdr.errors import FlowcdrError


class FormatError(FlowcdrError):
    """The input is not a flow log at all; the message names the input and the place."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message
