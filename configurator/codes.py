"""Compact, deterministic, tamper-evident variant codes.

A code is ``{family_id}.{version}.{body}``: the body is Crockford base32 of the option indices
packed as one mixed-radix integer, the free texts (length-prefixed UTF-8) and a 32-bit keyed
BLAKE2 tag over the family fingerprint and that payload. The same selections always give the same
code; an edited or foreign code fails the tag.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence

from configurator.errors import MalformedCode

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCK = str.maketrans(_B32, _CROCKFORD)
_FROM_CROCK = str.maketrans(_CROCKFORD, _B32)
TAG_BYTES = 4


def parse_code(code: str) -> tuple[str, int, str]:
    """Split a code into ``(family_id, version, body)``; :class:`MalformedCode` if it is not one.

    The API layer uses it to find the family (and version) before decoding.
    """
    parts = code.rsplit(".", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2]:
        raise MalformedCode(f"not a variant code: {code!r}")
    return parts[0], int(parts[1]), parts[2]


def _tag(key: bytes, payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=TAG_BYTES, key=key[:64]).digest()


def pack(
    key: bytes, radices: Sequence[int], indices: Sequence[int], texts: Sequence[str | None]
) -> str:
    n = 0
    for r, i in zip(radices, indices, strict=True):
        n = n * r + i
    width = max(1, math.ceil(math.log2(math.prod(radices) or 1) / 8)) if radices else 1
    payload = n.to_bytes(width, "big")
    for t in texts:
        raw = b"" if t is None else t.encode("utf-8")
        payload += bytes([len(raw)]) + raw
    raw = payload + _tag(key, payload)
    return base64.b32encode(raw).decode("ascii").rstrip("=").translate(_TO_CROCK)


def unpack(
    key: bytes, radices: Sequence[int], n_texts: int, body: str
) -> tuple[list[int], list[str | None]]:
    s = body.upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if any(c not in _CROCKFORD for c in s):
        raise MalformedCode("variant code has characters outside base32")
    s = s.translate(_FROM_CROCK)
    try:
        raw = base64.b32decode(s + "=" * (-len(s) % 8))
    except ValueError as exc:
        raise MalformedCode("variant code is not valid base32") from exc
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if len(raw) <= TAG_BYTES or _tag(key, payload) != tag:
        raise MalformedCode("variant code failed its integrity check (edited or forged)")
    width = max(1, math.ceil(math.log2(math.prod(radices) or 1) / 8)) if radices else 1
    n = int.from_bytes(payload[:width], "big")
    if n >= math.prod(radices):
        raise MalformedCode("variant code is out of range")
    indices = []
    for r in reversed(radices):
        n, i = divmod(n, r)
        indices.append(i)
    texts: list[str | None] = []
    pos = width
    for _ in range(n_texts):
        if pos >= len(payload):
            raise MalformedCode("variant code is truncated")
        ln = payload[pos]
        chunk = payload[pos + 1 : pos + 1 + ln]
        if len(chunk) != ln:
            raise MalformedCode("variant code is truncated")
        try:
            texts.append(chunk.decode("utf-8") if ln else None)
        except UnicodeDecodeError as exc:
            raise MalformedCode("variant code has invalid text") from exc
        pos += 1 + ln
    if pos != len(payload):
        raise MalformedCode("variant code has trailing data")
    return indices[::-1], texts
