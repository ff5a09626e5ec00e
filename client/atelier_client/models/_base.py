"""The base of every answer model, and the one timestamp type.

Answers keep fields this client does not know yet (``extra="allow"``: a newer server adds
fields, it never renames them), so an older client keeps working.

Timestamps parse from RFC 3339 strings (``Z`` or an offset; a date alone is its midnight) and,
from servers that answered epoch seconds, from numbers; a time without an offset is UTC.

Examples
--------
>>> from pydantic import TypeAdapter
>>> ts = TypeAdapter(Timestamp)
>>> ts.validate_python("2026-12-02T10:00:00Z") == ts.validate_python(1796205600.0)
True
>>> ts.validate_python("2011-12-09").isoformat()
'2011-12-09T00:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


def _parse_time(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        except ValueError:
            return value  # not a date: left for the datetime parser to refuse
    return value


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: An instant: aware ``datetime`` (UTC unless the server gave an offset).
Timestamp = Annotated[datetime, BeforeValidator(_parse_time), AfterValidator(_utc)]


class Model(BaseModel):
    """An answer of the API (fields as the OpenAPI document names them)."""

    # ``model_version`` is an API field, not pydantic's namespace.
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())
