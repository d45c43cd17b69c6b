"""Errors of the azure stage: one field of a flow-log configuration is wrong.

    FlowcdrError
     └── FieldError                  one field the user entered (a name, an id)
          └── ConnectionStringError  the storage connection string, or one key in it

They are also ``ValueError`` so that form and API code can catch bad input the usual way.
``field`` says which input to highlight; the message never carries a secret.
"""

from flowcdr.errors import FlowcdrError

# Longer values are cut when echoed, so a pasted blob cannot flood a form or a log line.
_SHOWN_CHARS = 80


class FieldError(FlowcdrError, ValueError):
    """``field`` is the input to fix; ``message`` says why, without repeating the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ConnectionStringError(FieldError):
    """``field`` is the offending key (``AccountKey``...) or ``connection_string`` as a whole."""


def shown(value: str) -> str:
    """The value quoted for a message, cut to a readable length."""
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return f"{value[:_SHOWN_CHARS]!r}... ({len(value)} characters)"
