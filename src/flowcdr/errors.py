"""The root of flowcdr's exceptions; every stage raises its own family below it.

    FlowcdrError
     ├── FormatError              input that is not a flow log (flowcdr.formats)
     ├── FieldError               a value a user entered is not valid (flowcdr.azure)
     │    └── ConnectionStringError
     ├── TokenError               a token is malformed, forged, expired or of the wrong kind
     └── StoreError               a control-store change that cannot be made (flowcdr.store)
          └── ConflictError       it would duplicate a unique name

This module imports nothing, so the pure ``formats`` stage can depend on it.
"""


class FlowcdrError(Exception):
    """Base class of every error flowcdr raises on purpose."""
