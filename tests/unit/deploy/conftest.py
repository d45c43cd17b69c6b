"""The parsed module, once per session: parsing the templates takes a few hundred milliseconds."""

from typing import Any

import pytest

from . import hcl


@pytest.fixture(scope="session")
def module() -> dict[str, Any]:
    return hcl.module()
