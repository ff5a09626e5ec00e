"""Typed Python client of the Atelier HTTP API v1.

>>> from atelier_client import Client
>>> client = Client("http://127.0.0.1:8000", "atk_...")  # doctest: +SKIP
>>> client.recommend("c1", n=5, category=["shoes", "bags"]).items  # doctest: +SKIP
"""

from atelier_client import errors, models
from atelier_client._calls import NO_RETRY, Retry
from atelier_client._client import AsyncClient, Client, __version__
from atelier_client.errors import (
    ApiError,
    AtelierError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from atelier_client.models import Event

__all__ = [
    "NO_RETRY",
    "ApiError",
    "AsyncClient",
    "AtelierError",
    "BadRequest",
    "Client",
    "Conflict",
    "Event",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Retry",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationFailed",
    "__version__",
    "errors",
    "models",
]
