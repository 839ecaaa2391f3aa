"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-symbol alphabet (digits and capitals without I, O, S, V, Z):
registration authority (1), organisation type (1), administrative division (6 digits),
organisation code (9), and a check character computed with weights 3^i mod 31.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def normalise(code: str) -> str:
    return code.strip().upper().replace(" ", "")


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    code = normalise(code)
    return bool(_SHAPE.match(code)) and check_character(code[:17]) == code[17]


def make_valid_code(first17: str) -> str:
    """Append the check character (for demo data and tests)."""
    first17 = normalise(first17)
    if len(first17) != 17 or any(ch not in ALPHABET for ch in first17):
        raise ValueError("need 17 characters of the code alphabet")
    return first17 + check_character(first17)
