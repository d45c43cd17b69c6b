"""The few SQL spellings that differ between DuckDB (embedded) and ClickHouse (scale-out).

A rule's query calls these instead of writing engine-specific functions, so one rule file
serves both flow stores (design.md section 5). The set is deliberately small: only what the
catalogue uses. Tunable values never enter the text: ``param`` renders a placeholder and the
value travels as a bound parameter.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping

from flowcdr.detect.rule import Rule, TunableValue
from flowcdr.store.clickhouse_schema import ADDRESSES, address_text

RESERVED = ("tenant_id", "window_start", "window_end")
"""Parameters the runner binds itself; no tunable may take these names."""


class Sql(ABC):
    """SQL fragments in one engine's spelling, for one rule's tunables."""

    def __init__(self, values: Mapping[str, TunableValue]) -> None:
        clash = set(values) & set(RESERVED)
        if clash:
            raise ValueError(f"tunable names reserved by the runner: {sorted(clash)}")
        self._values = values
        self._used: set[str] = set()

    def _known(self, name: str) -> TunableValue:
        """A tunable the query refers to: only those are bound (DuckDB refuses extra ones;
        the rest are for ``refine``)."""
        if name not in self._values:
            raise KeyError(f"no tunable {name!r}")
        self._used.add(name)
        return self._values[name]

    def _bound(self) -> dict[str, TunableValue]:
        return {name: self._values[name] for name in sorted(self._used)}

    @abstractmethod
    def param(self, name: str) -> str:
        """A scalar tunable."""

    @abstractmethod
    def in_list(self, expr: str, name: str) -> str:
        """True where ``expr`` is one of the list tunable ``name``."""

    @abstractmethod
    def count_distinct(self, expr: str, where: str | None = None) -> str: ...

    @abstractmethod
    def count_if(self, cond: str) -> str: ...

    @abstractmethod
    def sum_if(self, expr: str, cond: str) -> str: ...

    @abstractmethod
    def epoch(self, expr: str) -> str:
        """A timestamp as seconds since 1970 (a double, microseconds kept)."""

    @abstractmethod
    def sorted_list(self, expr: str, order: str) -> str:
        """The group's values of ``expr`` as an array, in ascending ``order``."""

    @abstractmethod
    def any_value(self, expr: str) -> str:
        """One of the group's values for context (the least: the same on both engines and in
        every run, where an arbitrary one differed between DuckDB and ClickHouse)."""

    @abstractmethod
    def approx_distinct(self, expr: str) -> str:
        """A distinct count for evidence, where HyperLogLog's ~2 % error is fine."""

    @abstractmethod
    def quantile(self, expr: str, q: float) -> str:
        """The exact (interpolated) quantile ``q`` of the group's values."""

    @abstractmethod
    def window_relation(self, window_seconds: int) -> str:
        """The relation ``f`` rules read: the tenant's flows of the range, with ``bucket``."""

    @abstractmethod
    def bind(self, extra: Mapping[str, object]) -> dict[str, object]:
        """Parameters to pass with the rendered query."""

    @abstractmethod
    def history(self, lookback_seconds: int, window_seconds: int) -> str:
        """The tenant's flows from ``lookback_seconds`` before the evaluated range to its end,
        with ``bucket``: what a rule looks back over (a baseline, the window before)."""

    @abstractmethod
    def window_start(self) -> str:
        """The start of the evaluated range."""

    @abstractmethod
    def tenant_start(self) -> str:
        """The time of the tenant's first stored flow (a baseline's learning period)."""


def _duck_bucket(window_seconds: int) -> str:
    """The epoch-aligned window start of ``time``: integer arithmetic on microseconds, three
    times cheaper than ``time_bucket`` on TIMESTAMPTZ (which goes through time zones)."""
    seconds = int(window_seconds)
    return f"to_timestamp(epoch_us(time) // {seconds * 1_000_000} * {seconds})"


class DuckSql(Sql):
    def param(self, name: str) -> str:
        self._known(name)
        return f"${name}"

    def in_list(self, expr: str, name: str) -> str:
        self._known(name)
        return f"list_contains(${name}, {expr})"

    def count_distinct(self, expr: str, where: str | None = None) -> str:
        return f"count(DISTINCT {expr})" + (f" FILTER (WHERE {where})" if where else "")

    def count_if(self, cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    def sum_if(self, expr: str, cond: str) -> str:
        return f"sum({expr}) FILTER (WHERE {cond})"

    def epoch(self, expr: str) -> str:
        return f"(epoch_us({expr}) / 1e6)"

    def sorted_list(self, expr: str, order: str) -> str:
        return f"list({expr} ORDER BY {order})"

    def any_value(self, expr: str) -> str:
        return f"min({expr})"

    def quantile(self, expr: str, q: float) -> str:
        return f"quantile_cont({expr}, {float(q)})"

    def approx_distinct(self, expr: str) -> str:
        return f"approx_count_distinct({expr})"

    def window_relation(self, window_seconds: int) -> str:
        # NOT MATERIALIZED: a rule reading f twice must not copy the window's rows first.
        return f"""f AS NOT MATERIALIZED (
    SELECT *, {_duck_bucket(window_seconds)} AS bucket
    FROM flows
    WHERE tenant_id = $tenant_id AND time >= $window_start AND time < $window_end)"""  # noqa: S608

    def history(self, lookback_seconds: int, window_seconds: int) -> str:
        return f"""(
    SELECT *, {_duck_bucket(window_seconds)} AS bucket
    FROM flows
    WHERE tenant_id = $tenant_id AND time >= $window_start - INTERVAL {int(lookback_seconds)} SECOND
      AND time < $window_end)"""  # noqa: S608

    def window_start(self) -> str:
        return "$window_start"

    def tenant_start(self) -> str:
        return "(SELECT min(time) FROM flows WHERE tenant_id = $tenant_id)"

    def bind(self, extra: Mapping[str, object]) -> dict[str, object]:
        values: dict[str, object] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self._bound().items()
        }
        return values | dict(extra)


# ClickHouse keeps addresses as IPv6; rules compare, group and report them as text.
_CLICK_COLUMNS = "* REPLACE ({})".format(
    ", ".join(f"{address_text(name)} AS {name}" for name in ADDRESSES)
)


def _click_bucket(window_seconds: int) -> str:
    """The epoch-aligned window start of ``time``, a DateTime64 like ``time`` (the interval
    function alone answers a DateTime, which the microsecond functions refuse)."""
    interval = f"INTERVAL {int(window_seconds)} SECOND"
    return f"toDateTime64(toStartOfInterval(time, {interval}), 6, 'UTC')"


class ClickSql(Sql):
    """ClickHouse spelling: typed ``{name:Type}`` placeholders, the -If combinators."""

    def _type(self, name: str) -> str:
        value = self._known(name)
        if isinstance(value, tuple):
            return "Array(String)" if value and isinstance(value[0], str) else "Array(Int64)"
        return "Float64" if isinstance(value, float) else "Int64"

    def param(self, name: str) -> str:
        return f"{{{name}:{self._type(name)}}}"

    def in_list(self, expr: str, name: str) -> str:
        return f"has({{{name}:{self._type(name)}}}, {expr})"

    def count_distinct(self, expr: str, where: str | None = None) -> str:
        return f"uniqExactIf({expr}, {where})" if where else f"uniqExact({expr})"

    def count_if(self, cond: str) -> str:
        return f"countIf({cond})"

    def sum_if(self, expr: str, cond: str) -> str:
        return f"sumIf({expr}, {cond})"

    def epoch(self, expr: str) -> str:
        return f"(toUnixTimestamp64Micro({expr}) / 1e6)"

    def sorted_list(self, expr: str, order: str) -> str:
        return f"arrayMap(p -> p.2, arraySort(groupArray(({order}, {expr}))))"

    def any_value(self, expr: str) -> str:
        return f"min({expr})"

    def quantile(self, expr: str, q: float) -> str:
        return f"quantileExactInclusive({float(q)})({expr})"

    def approx_distinct(self, expr: str) -> str:
        return f"uniq({expr})"

    def window_relation(self, window_seconds: int) -> str:
        return f"""f AS (
    SELECT {_CLICK_COLUMNS},
        {_click_bucket(window_seconds)} AS bucket
    FROM flows
    WHERE tenant_id = {{tenant_id:String}}
      AND time >= {{window_start:DateTime64(6, 'UTC')}}
      AND time < {{window_end:DateTime64(6, 'UTC')}})"""  # noqa: S608

    def history(self, lookback_seconds: int, window_seconds: int) -> str:
        return f"""(
    SELECT {_CLICK_COLUMNS},
        {_click_bucket(window_seconds)} AS bucket
    FROM flows
    WHERE tenant_id = {{tenant_id:String}}
      AND time >= {{window_start:DateTime64(6, 'UTC')}} - INTERVAL {int(lookback_seconds)} SECOND
      AND time < {{window_end:DateTime64(6, 'UTC')}})"""  # noqa: S608

    def window_start(self) -> str:
        return "{window_start:DateTime64(6, 'UTC')}"

    def tenant_start(self) -> str:
        return "(SELECT min(time) FROM flows WHERE tenant_id = {tenant_id:String})"

    def bind(self, extra: Mapping[str, object]) -> dict[str, object]:
        values = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self._bound().items()
        }
        return values | dict(extra)


def render(rule: Rule, dialect: type[Sql], values: Mapping[str, TunableValue]) -> tuple[str, Sql]:
    """The rule's full query (window relation, then its own SQL) and the bound builder."""
    sql = dialect(values)
    body = rule.query(sql).strip()
    # A rule may open with its own CTEs: they follow ``f`` in the same WITH clause.
    if body[:5].upper() == "WITH ":
        body = "," + body[5:]
    return f"WITH {sql.window_relation(rule.window_seconds)}\n{body}", sql
