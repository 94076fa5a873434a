"""Errors of a catalogue file: each names the YAML path and, when known, its line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if not self.path and self.line is None:
            return self.message
        where = self.path or "(document)"
        if self.line is not None:
            where = f"{where} (line {self.line})"
        return f"{where}: {self.message}"


class CatalogError(Exception):
    """The file cannot be imported; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class AlreadyReported(ValueError):
    """A value is unusable and its problems are already recorded with finer paths."""
