"""Compact, deterministic, tamper-evident variant codes.

A code is ``{family_id}.{version}.{body}``: the body is Crockford base32 of the option indices
packed as one mixed-radix integer, the free texts (length-prefixed UTF-8) and a 32-bit keyed
BLAKE2 tag over the family fingerprint and that payload. The same selections always give the same
code, and each variant has exactly one: the decoder refuses a version with leading zeros or
non-ASCII digits and a body whose unused last bits are set. An edited or foreign code fails the
tag; a code that passes it is still refused when it encodes what the family does not allow (a
rule broken, a text outside its characters or length), since with the default empty secret
anyone who reads a family can compute tags.

Example
-------
>>> body = pack(b"key", [3, 4], [2, 1], [None, "JD"])
>>> unpack(b"key", [3, 4], 2, body)
([2, 1], [None, 'JD'])
>>> parse_code(f"mug.1.{body}")[:2]
('mug', 1)
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Mapping, Sequence

from configurator.compiled import CompiledFamily
from configurator.errors import MalformedCode

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCK = str.maketrans(_B32, _CROCKFORD)
_FROM_CROCK = str.maketrans(_CROCKFORD, _B32)
TAG_BYTES = 4
_VERSION = re.compile(r"0|[1-9][0-9]*")  # ASCII digits only: str.isdigit() accepts "¹"


def parse_code(code: str) -> tuple[str, int, str]:
    """Split a code into ``(family_id, version, body)``; :class:`MalformedCode` if it is not one.

    The registry uses it to find the family (and version) before decoding.
    """
    parts = code.rsplit(".", 2)
    if len(parts) != 3 or not parts[0] or not _VERSION.fullmatch(parts[1]) or not parts[2]:
        raise MalformedCode(f"not a variant code: {code!r}")
    return parts[0], int(parts[1]), parts[2]


def _width(radices: Sequence[int]) -> int:
    """Bytes of the packed option indices."""
    return max(1, math.ceil(math.log2(math.prod(radices) or 1) / 8)) if radices else 1


def _tag(key: bytes, payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=TAG_BYTES, key=key[:64]).digest()


def pack(
    key: bytes, radices: Sequence[int], indices: Sequence[int], texts: Sequence[str | None]
) -> str:
    """The body of a code: option ``indices`` (one per attribute of ``radices`` options) and
    ``texts`` (None for a text not given), tagged with ``key``."""
    n = 0
    for r, i in zip(radices, indices, strict=True):
        n = n * r + i
    payload = n.to_bytes(_width(radices), "big")
    for t in texts:
        raw = b"" if t is None else t.encode("utf-8")
        payload += bytes([len(raw)]) + raw
    raw = payload + _tag(key, payload)
    return base64.b32encode(raw).decode("ascii").rstrip("=").translate(_TO_CROCK)


def unpack(
    key: bytes, radices: Sequence[int], n_texts: int, body: str
) -> tuple[list[int], list[str | None]]:
    """The option indices and texts of a body made by :func:`pack` with the same key and
    radices; :class:`MalformedCode` for anything else. Crockford's reading aliases (lower case,
    O for 0, I and L for 1) are accepted; unused bits that are set are not."""
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
    if base64.b32encode(raw).decode("ascii").rstrip("=") != s:
        raise MalformedCode("variant code is not in its canonical form (unused bits are set)")
    width = _width(radices)
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


def encode(cf: CompiledFamily, fixed: Mapping[int, int], texts: Mapping[str, str]) -> str:
    """The code of a complete assignment (``fixed``: option index per attribute) and texts."""
    body = pack(
        cf.key,
        cf.sizes,
        [fixed[a] for a in range(len(cf.attrs))],
        [texts.get(t.name) for t in cf.family.text_options],
    )
    return f"{cf.family.id}.{cf.family.version}.{body}"


def decode(cf: CompiledFamily, body: str) -> tuple[dict[int, int], dict[str, str]]:
    """The assignment and texts of a code body issued by ``cf``; :class:`MalformedCode` for a
    garbled, edited or forged body, or one whose variant the family does not allow."""
    idx, raw_texts = unpack(cf.key, cf.sizes, len(cf.family.text_options), body)
    fixed = dict(enumerate(idx))
    texts = {t.name: s for t, s in zip(cf.family.text_options, raw_texts, strict=True) if s}
    for name, text in texts.items():
        why = cf.texts[name].check(text)
        if why:
            raise MalformedCode(f"variant code carries a {name} the family does not allow: {why}")
        if not all(m[fixed[a]] for a, m in cf.text_cond[name].items()):
            raise MalformedCode(f"variant code carries a {name} its options do not enable")
    if not cf.problem.satisfied(tuple(idx)):
        broken = next(
            c for c in cf.problem.constraints if not c.allowed[tuple(idx[a] for a in c.scope)]
        )
        raise MalformedCode(f"variant code encodes a variant the rules exclude: {broken.message}")
    return fixed, texts
