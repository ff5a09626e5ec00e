"""Typed errors of the configurator, one per HTTP answer the API layer gives.

``InputError`` (422) names the offending field with a ``loc`` path, like pydantic does, so the
API can build RFC 9457 ``errors: [{"loc", "msg"}]`` without parsing messages.
"""

from __future__ import annotations

from collections.abc import Sequence


class ConfiguratorError(Exception):
    """Base class of every configurator error."""


class FamilyError(ConfiguratorError, ValueError):
    """A product family definition is malformed or cannot be compiled (422 on upload)."""

    def __init__(self, msg: str, loc: Sequence[str | int] = ()) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}" if loc else msg)
        self.msg = msg
        self.loc = tuple(loc)


class InputError(ConfiguratorError, ValueError):
    """A request names an unknown attribute/option or gives an out-of-range value (422).

    ``loc`` is the path of the offending field in the request body, e.g.
    ``("selections", "fabric")``.
    """

    def __init__(self, msg: str, loc: Sequence[str | int] = ()) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}" if loc else msg)
        self.msg = msg
        self.loc = tuple(loc)

    def errors(self) -> list[dict[str, object]]:
        """The pydantic-style error list for a problem+json body."""
        return [{"loc": list(self.loc), "msg": self.msg}]


class InvalidVariant(InputError):
    """Selections that are well-formed but do not form a complete valid variant (422)."""


class MalformedCode(ConfiguratorError, ValueError):
    """A variant code that is not syntactically a code, or whose checksum fails (422)."""


class UnknownCode(ConfiguratorError, LookupError):
    """A well-formed code for a family or version this configurator does not know (404)."""
