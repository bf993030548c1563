"""Numbers read the Chinese way (12 -> 十二, 205 -> 二百零五), for queue positions and waits.

Dynamic prompts are composed from pre-rendered fragments, so a number must become a fixed piece of
text the renderer has seen before; Arabic digits would also be read unevenly by espeak-ng.
"""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
_UNITS = ((1000, "千"), (100, "百"), (10, "十"))
MAX_NUMBER = 99_999_999


def chinese_number(n: int, *, counting: bool = False) -> str:
    """Read 0..99,999,999 in Chinese. ``counting`` says 两 for a leading 2 before a measure word
    ("两位", "两百", not "二位"), which is how a person states a count."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"number out of range 0..{MAX_NUMBER}: {n}")
    if n == 0:
        return DIGITS[0]
    high, low = divmod(n, 10_000)
    if not high:
        return _below_10k(low, counting=counting, leading=True)
    text = _below_10k(high, counting=counting, leading=True) + "万"
    if low:
        text += ("零" if low < 1000 else "") + _below_10k(low, counting=False, leading=False)
    return text


def _below_10k(n: int, *, counting: bool, leading: bool) -> str:
    """1..9999; ``leading`` drops the 一 of 一十 at the very start (十二, but 一百一十)."""
    out = []
    zero_pending = False
    rest = n
    for value, unit in _UNITS:
        digit, rest = divmod(rest, value)
        if digit:
            if zero_pending:
                out.append("零")
                zero_pending = False
            if value == 10 and digit == 1 and leading and not out:
                out.append(unit)
            elif digit == 2 and counting and not out and value >= 100:
                out.append("两" + unit)
            else:
                out.append(DIGITS[digit] + unit)
        elif out:
            zero_pending = True
    if rest:
        if zero_pending:
            out.append("零")
        out.append("两" if counting and rest == 2 and not out else DIGITS[rest])
    return "".join(out)


def read_digits(digits: str) -> str:
    """A code or phone number digit by digit (95588 -> 九五五八八)."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"not a string of digits: {digits!r}")
    return "".join(DIGITS[int(d)] for d in digits)
