"""Salted password hashes with the standard library, in werkzeug's stored format.

Users files written before this module hold hashes made by ``werkzeug.security`` (Flask's
dependency); so that they keep working, hashes are read AND written in that same format:

- ``scrypt:<n>:<r>:<p>$<salt>$<hex>``: :func:`hashlib.scrypt`, 64-byte key (the default here,
  ``scrypt:32768:8:1``, as werkzeug's);
- ``pbkdf2:<hash>:<iterations>$<salt>$<hex>``: :func:`hashlib.pbkdf2_hmac`, the hash's digest
  size as key length.

The salt is the text between the ``$`` signs, used as its UTF-8 bytes (werkzeug makes it of 16
letters and digits). ``data/`` stays free of the web framework this way (.importlinter).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
PBKDF2_DEFAULT_ITERATIONS = 1_000_000  # werkzeug 3.1's default for a bare "pbkdf2"
SALT_LENGTH = 16
_SALT_CHARS = string.ascii_letters + string.digits
METHODS = ("scrypt", "pbkdf2")


class PasswordHashError(ValueError):
    """A stored hash this module cannot check (unknown method or malformed parameters)."""


def hash_password(password: str, method: str = "scrypt") -> str:
    """A new salted hash of ``password`` as ``method$salt$hex`` (werkzeug's format).

    ``method``: ``scrypt`` or ``scrypt:n:r:p``, ``pbkdf2`` or ``pbkdf2:hash:iterations``;
    :class:`PasswordHashError` for anything else.
    """
    salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(SALT_LENGTH))
    digest, full_method = _derive(method, salt, password)
    return f"{full_method}${salt}${digest}"


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches the ``stored`` hash (compared in constant time).

    An empty or shapeless ``stored`` value (no two ``$``) matches nothing; a hash naming a
    method this module does not know raises :class:`PasswordHashError`, so a wrong users file
    is reported instead of silently refusing everyone.
    """
    try:
        method, salt, digest = stored.split("$", 2)
    except ValueError:
        return False
    return hmac.compare_digest(_derive(method, salt, password)[0], digest)


def check_method(stored: str) -> None:
    """Raise :class:`PasswordHashError` when ``stored`` names an unknown or malformed method."""
    if stored.count("$") >= 2:
        _parse(stored.split("$", 1)[0])


def _parse(method: str) -> tuple[str, tuple]:
    name, *args = method.split(":")
    try:
        if name == "scrypt":
            if not args:
                return name, (SCRYPT_N, SCRYPT_R, SCRYPT_P)
            n, r, p = map(int, args)
            return name, (n, r, p)
        if name == "pbkdf2" and len(args) <= 2:
            hash_name = args[0] if args else "sha256"
            iterations = int(args[1]) if len(args) == 2 else PBKDF2_DEFAULT_ITERATIONS
            hashlib.new(hash_name)  # an unknown digest fails here, not half-way through
            return name, (hash_name, iterations)
    except ValueError as exc:
        raise PasswordHashError(f"password hash method {method!r}: bad parameters") from exc
    raise PasswordHashError(
        f"password hash method {method!r} is not supported (use one of {', '.join(METHODS)})"
    )


def _derive(method: str, salt: str, password: str) -> tuple[str, str]:
    name, args = _parse(method)
    secret, salt_bytes = password.encode(), salt.encode()
    if name == "scrypt":
        n, r, p = args
        # 128·n·r·p bytes is scrypt's working set; OpenSSL needs a little headroom above it
        key = hashlib.scrypt(secret, salt=salt_bytes, n=n, r=r, p=p, maxmem=132 * n * r * p)
        return key.hex(), f"scrypt:{n}:{r}:{p}"
    hash_name, iterations = args
    key = hashlib.pbkdf2_hmac(hash_name, secret, salt_bytes, iterations)
    return key.hex(), f"pbkdf2:{hash_name}:{iterations}"
