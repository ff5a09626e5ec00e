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
        super().__init__(f"{_path(loc)}: {msg}" if loc else msg)
        self.msg = msg
        self.loc = tuple(loc)

    def errors(self) -> list[dict[str, object]]:
        """The pydantic-style error list for a problem+json body."""
        return [{"loc": list(self.loc), "msg": self.msg}]


def _path(loc: Sequence[str | int]) -> str:
    """``("rules", 0, "if", "colour")`` as ``rules[0].if.colour``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class InputError(ConfiguratorError, ValueError):
    """A request names an unknown attribute/option or gives an out-of-range value (422).

    ``loc`` is the path of the offending field in the request body, e.g.
    ``("selections", "fabric")``.
    """

    def __init__(
        self,
        msg: str,
        loc: Sequence[str | int] = (),
        *,
        more: Sequence[tuple[Sequence[str | int], str]] = (),
    ) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}" if loc else msg)
        self.msg = msg
        self.loc = tuple(loc)
        self.more = [(tuple(m_loc), m_msg) for m_loc, m_msg in more]

    def errors(self) -> list[dict[str, object]]:
        """The pydantic-style error list for a problem+json body: the error's own ``loc`` and
        ``msg``, then the ``more`` fields at fault (several required texts missing)."""
        return [{"loc": list(loc), "msg": msg} for loc, msg in [(self.loc, self.msg), *self.more]]


class InvalidVariant(InputError):
    """Selections that are well-formed but do not form a complete valid variant (422)."""


class MalformedCode(ConfiguratorError, ValueError):
    """A variant code that is not syntactically a code, or whose checksum fails (422)."""


class UnknownCode(ConfiguratorError, LookupError):
    """A well-formed code for a family or version this configurator does not know (404)."""
