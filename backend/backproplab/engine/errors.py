"""Errors the engine raises for bad input; the server turns them into 422 responses."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration or data value the engine cannot use.

    ``field`` is a dotted path into the RunConfig (``"optimizer.lr"``, ``"dataset.X"``) so a client can
    point at the exact input; ``reason`` says what is wrong with it in words.
    """

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str]]:
        """Pickle by (field, reason): errors cross process boundaries (trainer and compute workers)."""
        return (type(self), (self.field, self.reason))
