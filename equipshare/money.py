"""Money is integer fen (分). Decimal for arithmetic, half-up rounding once per line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_FEN = 10**12  # ¥10 billion: anything larger is a typo, not a price


def round_fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_to_fen(text: str | Decimal | int) -> int:
    """Parse an amount in yuan ("123.45") into fen. Raises ValueError on anything else."""
    try:
        amount = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("not a number") from exc
    if not amount.is_finite():
        raise ValueError("not a number")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError("more than two decimal places")
    if abs(fen) > MAX_FEN:
        raise ValueError("amount too large")
    return int(fen)


def format_fen(fen: int | None, symbol: bool = True) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    text = f"{sign}{yuan:,}.{cents:02d}"
    return f"¥{text}" if symbol else text
