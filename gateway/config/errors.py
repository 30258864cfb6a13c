"""Where a configuration value came from, and the one exception a bad configuration raises.

Every message names the file and line (and the key when there is one) in the form editors and
`grep -n` use, `kannel.conf:12: key 'max-messages': expected an integer, got 'ten'`, so an
operator migrating a large kannel.conf jumps straight to the line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A line of a configuration file: the file as the operator named it, and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def format_message(location: Location | None, key: str | None, message: str) -> str:
    """Render `file:line: key 'k': message`, leaving out the parts that are not known."""
    parts = []
    if location is not None:
        parts.append(f"{location}: ")
    if key is not None:
        parts.append(f"key '{key}': ")
    parts.append(message)
    return "".join(parts)


class ConfigError(Exception):
    """A configuration Passerelle refuses to run with.

    One exception type for every kind of problem (syntax, unknown or unsupported key, bad
    value, missing mandatory key, inconsistent groups), so callers catch one thing. The
    loader keeps going after the first problem where it safely can, so `errors` holds every
    problem found (this one first) and `passerelle check-config` can list them all at once.
    """

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.key = key
        self.errors: tuple[ConfigError, ...] = (self,)
        super().__init__(format_message(location, key, message))

    @property
    def file(self) -> str | None:
        """The file the problem is in, if known."""
        return self.location.file if self.location else None

    @property
    def line(self) -> int | None:
        """The 1-based line of the problem, if known."""
        return self.location.line if self.location else None

    @classmethod
    def collect(cls, errors: list[ConfigError]) -> ConfigError:
        """One error standing for several: the first, with all of them in `errors`."""
        first = errors[0]
        first.errors = tuple(errors)
        return first

    def render_all(self) -> str:
        """Every problem found, one per line, for the command line."""
        return "\n".join(str(error) for error in self.errors)
