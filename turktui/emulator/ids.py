"""MTurk-looking identifiers: 30 characters of [A-Z0-9]."""

from __future__ import annotations

import hashlib
import random

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ID_LEN = 30


def random_id(rng: random.Random, length: int = ID_LEN) -> str:
    """A random id drawn from ``rng``."""
    return "".join(rng.choices(ALPHABET, k=length))


def hashed_id(text: str, length: int = ID_LEN, prefix: str = "") -> str:
    """A deterministic id derived from ``text`` (same text → same id)."""
    n = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=24).digest(), "big")
    out = []
    for _ in range(length - len(prefix)):
        n, r = divmod(n, 36)
        out.append(ALPHABET[r])
    return prefix + "".join(out)
