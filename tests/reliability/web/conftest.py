"""The portal fixture of the web unit tests (two tenants, flows and a finding), reused here."""

from ...unit.api.conftest import gateway, password_hash, settings  # noqa: F401
from ...unit.web.conftest import portal  # noqa: F401
