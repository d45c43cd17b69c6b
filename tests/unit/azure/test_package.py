"""The package surface: a complete ``__all__`` and an error family under FlowcdrError."""

from types import ModuleType

import flowcdr.azure
from flowcdr.azure import ConnectionStringError, FieldError
from flowcdr.errors import FlowcdrError


def test_public_api_is_complete() -> None:
    public = {
        name
        for name in dir(flowcdr.azure)
        if not name.startswith("_") and not isinstance(getattr(flowcdr.azure, name), ModuleType)
    }
    assert set(flowcdr.azure.__all__) == public


def test_errors_are_value_errors_of_the_flowcdr_family() -> None:
    error = ConnectionStringError("AccountKey", "is not valid base64")
    assert isinstance(error, FieldError)
    assert isinstance(error, ValueError)
    assert isinstance(error, FlowcdrError)
    assert (error.field, error.message) == ("AccountKey", "is not valid base64")
    assert str(error) == "AccountKey: is not valid base64"
