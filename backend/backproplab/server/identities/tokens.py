"""Bearer tokens: how they are made, stored (their SHA-256, never the token) and compared.

A token is ``bpl_`` and 32 random bytes in URL-safe base64 (256 bits): unguessable, so the store may look
an identity up by the token's hash. A lookup by an index on the hash leaks nothing usable about a token
(finding a token from a hash prefix means inverting SHA-256); comparisons against a known secret (the
admin token) go through :func:`same_secret`, which takes the same time wherever the strings differ.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "bpl_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200
IDENTITY_ID_BYTES = 12


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def new_identity_id() -> str:
    """An identity's public id (what a run's owner column holds): not a secret, never a token."""
    return secrets.token_urlsafe(IDENTITY_ID_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(given: str, secret: str) -> bool:
    """``given == secret`` in constant time (digests first, so not even the length leaks)."""
    return hmac.compare_digest(token_hash(given).encode(), token_hash(secret).encode())


def well_formed(token: str) -> bool:
    """Printable ASCII without spaces, at most MAX_TOKEN_LENGTH characters (anything else is no token)."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable() and " " not in token


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is no header.

    Raises ValueError (with a reason) for a header that is present but not a well-formed bearer token.
    """
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not well_formed(token):
        raise ValueError("the Authorization header must be 'Bearer <token>' with a token from this server")
    return token
