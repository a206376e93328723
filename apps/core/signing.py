"""Request signatures of the two programmatic API dialects (DESIGN.md §11), in one place.

BHEX broker OpenAPI: lowercase hex HMAC-SHA256 with the API secret over ``totalParams`` — the raw
query string *without* its ``signature`` parameter, directly followed (no separator) by the raw form
body without it. The bytes are verified exactly as received: never re-sorted, re-encoded or decoded,
so a client's own encoding is what it signed. The signature itself is not case sensitive.

BGE API: base64 HMAC-SHA256 over ``timestamp + METHOD + requestPath + ("?" + query if any) + body``
(body empty for GET/DELETE); a websocket login signs ``timestamp`` alone.

Comparisons are constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def split_signature(raw: bytes) -> tuple[bytes, str | None]:
    """Remove the ``signature=`` parameter from a raw ``a=1&b=2`` string, keeping every other byte.

    Returns the remaining bytes (the separators of the removed parameter dropped) and the signature
    value, or ``None`` when absent or empty (empty parameters count as absent).
    """
    if not raw:
        return b"", None
    kept: list[bytes] = []
    signature: str | None = None
    for part in raw.split(b"&"):
        if part.startswith(b"signature="):
            value = part[len(b"signature=") :].decode("ascii", "replace")
            signature = value or signature
        else:
            kept.append(part)
    return b"&".join(kept), signature


def bhex_sign(secret: str, total_params: bytes) -> str:
    return hmac.new(secret.encode(), total_params, hashlib.sha256).hexdigest()


def bhex_verify(secret: str, query: bytes, body: bytes) -> bool:
    """Check a BHEX-signed request from its raw query string and raw form body."""
    query_rest, query_signature = split_signature(query)
    body_rest, body_signature = split_signature(body)
    signature = query_signature or body_signature
    if not signature:
        return False
    expected = bhex_sign(secret, query_rest + body_rest)
    return hmac.compare_digest(expected, signature.strip().lower())


def bge_sign(secret: str, *, timestamp: str, method: str = "", path: str = "", query: str = "", body: str = "") -> str:
    method = method.upper()
    if method in ("GET", "DELETE", ""):
        body = ""
    prehash = timestamp + method + path + (f"?{query}" if query else "") + body
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def bge_verify(
    secret: str, signature: str, *, timestamp: str, method: str = "", path: str = "", query: str = "", body: str = ""
) -> bool:
    expected = bge_sign(secret, timestamp=timestamp, method=method, path=path, query=query, body=body)
    return hmac.compare_digest(expected, signature.strip())
