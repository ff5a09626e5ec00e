"""Typed errors of the configurator, each a kind of :mod:`core.errors` the API maps to one status.

``InputError`` (422) names the offending field with a ``loc`` path relative to the request body,
like pydantic does, so the API can build RFC 9457 ``errors: [{"loc", "msg"}]`` without parsing
messages; the API adds where the body is (``body``, ``path``).

Example
-------
>>> err = InputError("unknown option 'silk'", ("selections", "fabric"))
>>> str(err)
"selections.fabric: unknown option 'silk'"
>>> err.errors
[{'loc': ['selections', 'fabric'], 'msg': "unknown option 'silk'"}]
>>> err.under("code").errors[0]["loc"]
['code', 'selections', 'fabric']
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import InvalidInput, NotFound


class ConfiguratorError(Exception):
    """Base class of every configurator error."""


class FamilyError(ConfiguratorError, InvalidInput, ValueError):
    """A product family definition is malformed or cannot be compiled (422 on upload)."""

    def __init__(self, msg: str, loc: Sequence[str | int] = ()) -> None:
        self.msg = msg
        self.loc = tuple(loc)
        # ``errors``: the pydantic-style list of fields at fault (here one)
        InvalidInput.__init__(
            self, f"{_path(loc)}: {msg}" if loc else msg, [{"loc": list(loc), "msg": msg}]
        )


def _path(loc: Sequence[str | int]) -> str:
    """``("rules", 0, "if", "colour")`` as ``rules[0].if.colour``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class InputError(ConfiguratorError, InvalidInput, ValueError):
    """A request names an unknown attribute/option or gives an out-of-range value (422).

    ``loc`` is the path of the offending field in the request body, e.g.
    ``("selections", "fabric")``; ``more`` lists further fields at fault (several required texts
    missing); ``detail`` replaces the one-line summary (``loc: msg`` by default) when the request
    as a whole has a better one. ``errors`` lists every field at fault, pydantic-style.
    """

    def __init__(
        self,
        msg: str,
        loc: Sequence[str | int] = (),
        *,
        more: Sequence[tuple[Sequence[str | int], str]] = (),
        detail: str | None = None,
    ) -> None:
        self.msg = msg
        self.loc = tuple(loc)
        self.more = [(tuple(m_loc), m_msg) for m_loc, m_msg in more]
        if detail is None:
            detail = f"{'.'.join(map(str, loc))}: {msg}" if loc else msg
        # ``errors``: the pydantic-style list of fields at fault, the error's own first
        fields = [(self.loc, msg), *self.more]
        InvalidInput.__init__(self, detail, [{"loc": list(x), "msg": m} for x, m in fields])

    def under(self, *prefix: str | int) -> InputError:
        """The same error (same kind and summary) for a body nested under ``prefix``."""
        return type(self)(
            self.msg,
            (*prefix, *self.loc),
            more=[((*prefix, *loc), msg) for loc, msg in self.more],
            detail=str(self),
        )


class InvalidVariant(InputError):
    """Selections that are well-formed but do not form a complete valid variant (422)."""


class MalformedCode(ConfiguratorError, InvalidInput, ValueError):
    """A variant code that is not syntactically a code, fails its checksum, or encodes what the
    family does not allow (a rule broken, a text outside its characters) (422)."""

    def __init__(self, msg: str) -> None:
        InvalidInput.__init__(self, msg, [{"loc": ["code"], "msg": msg}])


class UnknownCode(ConfiguratorError, NotFound, LookupError):
    """A well-formed code for a family or version this configurator does not know (404)."""


class UnknownProduct(ConfiguratorError, NotFound, LookupError):
    """No family of that id for the tenant (404)."""
