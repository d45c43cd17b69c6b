"""flowcdr's settings: one model, read from ``FLOWCDR_*`` environment variables or a TOML file.

Every command that touches state takes ``--data-dir``; the embedded defaults (a SQLite control
database and key files) live there. ``flowcdr config dump`` prints the effective settings with
secrets masked.
"""

from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

MASK = "****"
MIN_JWT_KEY = 32


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("flowcdr", appauthor=False))


class Settings(BaseSettings):
    """Effective configuration of a flowcdr process."""

    model_config = SettingsConfigDict(env_prefix="FLOWCDR_", extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="Where state lives.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the control database (default: SQLite in data_dir).",
    )
    jwt_key: SecretStr | None = Field(
        default=None,
        description="Key that signs auth and subscription tokens (default: a generated key file).",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key for secrets at rest (default: a generated key file).",
    )
    auth_token_minutes: int = Field(
        default=240, ge=1, le=24 * 60, description="Lifetime of a sign-in token."
    )
    login_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per username or address before throttling."
    )
    login_window_seconds: int = Field(
        default=300, ge=1, description="Window in which failed sign-ins are counted."
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Flows older than this are deleted."
    )
    ingest_max_compressed_bytes: int = Field(
        default=32 << 20, ge=1024, description="Largest ingest body as sent (413 above)."
    )
    ingest_max_bytes: int = Field(
        default=256 << 20, ge=1024, description="Largest ingest body once decompressed."
    )
    request_read_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Longest a client may take to send one request, head and body (408 above): "
        "a slow sender cannot hold a connection.",
    )
    ingest_merge_seconds: float = Field(
        default=1.0,
        gt=0,
        le=300,
        description="Longest an acknowledged batch waits in the journal before it is queryable.",
    )
    duckdb_memory_limit: str = Field(
        default="1GB",
        pattern=r"(?i)^\s*\d+(\.\d+)?\s*([KMGT]i?B|%)\s*$",
        description="Most memory the DuckDB flow store takes for its cache of the flows file and "
        "its queries: a size such as 512MB or 2GiB, or a share of RAM such as 25%. Past it "
        "DuckDB evicts cached blocks and spills large queries to duckdb_temp_directory. Without "
        "a limit DuckDB would keep caching the growing file up to 80% of RAM.",
    )
    duckdb_temp_directory: Path | None = Field(
        default=None,
        description="Where DuckDB spills query state past duckdb_memory_limit "
        "(default: DATA_DIR/flows.duckdb.tmp).",
    )
    detect_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How often detection evaluates the windows that new flows touched.",
    )
    intel_dir: Path | None = Field(
        default=None,
        description="Folder of threat-intel lists matched at ingest (default: DATA_DIR/intel).",
    )
    service_tags_file: Path | None = Field(
        default=None,
        description="Microsoft's 'Azure IP Ranges and Service Tags' JSON, downloaded by you: "
        "flows to Azure's public services are then azure_public, not external_public "
        "(default: DATA_DIR/servicetags.json; read again when it changes).",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#]+(/[^?#]*)?$",
        description="The gateway's address as collectors reach it: apigw_url in the Terraform "
        "download (default: the address the download request came to).",
    )
    inventory_sync_seconds: int = Field(
        default=3600,
        ge=0,
        le=7 * 24 * 3600,
        description="How often the Azure inventory of every connector with a client secret is "
        "synced (0: only on demand).",
    )
    azure_arm_url: str = Field(
        default="https://management.azure.com",
        pattern=r"^https://[^/?#]+/?$",
        description="Azure Resource Manager endpoint the inventory reads (another for a "
        "sovereign cloud).",
    )
    azure_authority: str = Field(
        default="https://login.microsoftonline.com",
        pattern=r"^https://[^/?#]+/?$",
        description="Azure AD endpoint the inventory signs in at with a connector's secret.",
    )
    azure_ca_bundle: Path | None = Field(
        default=None,
        description="CA bundle trusted for the Resource Manager endpoint (default: the system's).",
    )
    flows_backend: Literal["duckdb", "clickhouse"] = Field(
        default="duckdb",
        description="Flow store: duckdb (one file in data_dir, one gateway) or clickhouse "
        "(clickhouse_url; without it chDB in this process, in data_dir). See scale-out.md.",
    )
    clickhouse_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#]+/?$",
        description="HTTP(S) address of the ClickHouse server or cluster for the clickhouse "
        "backend, such as https://clickhouse:8443.",
    )
    clickhouse_database: str = Field(
        default="flowcdr",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="ClickHouse database of the flows, created if missing.",
    )
    clickhouse_user: str = Field(default="default", description="ClickHouse user.")
    clickhouse_password: SecretStr | None = Field(
        default=None, description="ClickHouse password (never logged or shown)."
    )
    clickhouse_cluster: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Cluster name: tables are created ON CLUSTER, Replicated, behind "
        "Distributed tables (default: one server, plain MergeTree).",
    )
    clickhouse_minute_rollup_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long ClickHouse keeps 1-minute rollups (at least retention_days).",
    )
    clickhouse_hour_rollup_days: int = Field(
        default=400,
        ge=1,
        le=3650,
        description="How long ClickHouse keeps 1-hour rollups (at least the 1-minute ones).",
    )
    webhook_allow_http: bool = Field(
        default=False,
        description="Let webhooks use http:// URLs (default: https:// only; over http a finding "
        "and its signature travel in clear).",
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Let webhooks reach loopback and private addresses (RFC 1918, RFC 6598, IPv6 "
        "ULA), such as an on-premises SIEM. Link-local, multicast, unspecified and cloud "
        "metadata addresses stay refused (security.md).",
    )
    webhook_private_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="With webhook_allow_private_targets: the only non-public networks webhooks "
        'may reach, such as ["10.20.0.0/24"] (default: every loopback and private address).',
    )
    config_file: Path | None = Field(
        default=None, description="TOML file read for settings not given in the environment."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file(init_settings, env_settings)
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("jwt_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_JWT_KEY:
            raise ValueError(f"needs at least {MIN_JWT_KEY} characters (HS256 key strength)")
        return key

    @model_validator(mode="after")
    def _private_networks_need_the_switch(self) -> "Settings":
        if self.webhook_private_networks and not self.webhook_allow_private_targets:
            raise ValueError(
                "webhook_private_networks is given but webhook_allow_private_targets is false: "
                "set it to true to let webhooks reach those networks"
            )
        return self

    @property
    def intel_folder(self) -> Path:
        return self.intel_dir or self.data_dir / "intel"

    @property
    def duckdb_spill_folder(self) -> Path:
        return self.duckdb_temp_directory or self.data_dir / "flows.duckdb.tmp"

    @property
    def service_tags_path(self) -> Path:
        return self.service_tags_file or self.data_dir / "servicetags.json"

    @property
    def control_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'control.db'}"

    def dump(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = MASK
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = [str(item) for item in value]
            out[name] = value
        out["database_url"] = mask_url(self.control_url)
        return out


def _config_file(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value = source().get("config_file")
        if value:
            return Path(value)
    return None


def mask_url(url: str) -> str:
    """A database URL with its password masked."""
    parsed = make_url(url)
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True).replace("***", MASK, 1)
