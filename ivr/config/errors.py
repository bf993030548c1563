"""Config problems as an admin needs to read them: file, key path and reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in one config file."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '<file>'}: {self.reason}"


class ConfigError(Exception):
    """Raised when config cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[ConfigProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def problems_from_validation(file: str | Path, err: ValidationError) -> list[ConfigProblem]:
    """Turn pydantic's errors into problems whose key is the dotted path (`loc`) in the file."""
    out = []
    for e in err.errors():
        key = ".".join(str(part) for part in e["loc"])
        out.append(ConfigProblem(str(file), key, e["msg"]))
    return out
