"""What a parse found besides the flows: counts, and the first reasons for what it refused."""

from dataclasses import dataclass, field

MAX_REASONS = 20


@dataclass(frozen=True)
class Reject:
    """A refused tuple: where it is, which field, its text, and what was expected."""

    record: int
    path: str
    tuple: int | None
    field: str
    value: str
    reason: str

    def describe(self, source: str) -> str:
        where = self.path if self.tuple is None else f"{self.path}[{self.tuple}]"
        return (
            f"{source} record {self.record}: {where} {self.field} {self.value!r} "
            f"rejected: {self.reason}"
        )


@dataclass(frozen=True)
class Skip:
    """A record that was not used (another category, or a malformed envelope)."""

    record: int
    reason: str

    def describe(self, source: str) -> str:
        return f"{source} record {self.record} skipped: {self.reason}"


@dataclass
class ParseReport:
    """Counts for one input; ``rejects`` and ``skips`` keep the first MAX_REASONS of each.

    ``records`` counts flow-log records read; ``skipped`` the elements that were not.
    """

    source: str
    records: int = 0
    flows: int = 0
    rejected: int = 0
    skipped: int = 0
    cut: bool = False
    rejects: list[Reject] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)

    def reject(self, reject: Reject) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REASONS:
            self.rejects.append(reject)

    def skip(self, skip: Skip) -> None:
        self.skipped += 1
        if len(self.skips) < MAX_REASONS:
            self.skips.append(skip)

    def wants_reasons(self) -> int:
        """How many more reject reasons are worth computing."""
        return MAX_REASONS - len(self.rejects)

    def warnings(self) -> list[str]:
        """Human-readable lines for everything that was not a clean flow."""
        lines = [r.describe(self.source) for r in self.rejects]
        if self.rejected > len(self.rejects):
            more = self.rejected - len(self.rejects)
            lines.append(f"{self.source}: {more} more tuples rejected")
        lines += [s.describe(self.source) for s in self.skips]
        if self.skipped > len(self.skips):
            lines.append(f"{self.source}: {self.skipped - len(self.skips)} more records skipped")
        if self.cut:
            lines.append(
                f"{self.source}: input ends inside a record (cut); that record is not read"
            )
        return lines
