"""Masking of caller numbers: logs and agent lists never carry a full phone number."""

from __future__ import annotations


def mask_number(number: str | None) -> str:
    """Keep the prefix and the last two digits: '+8613912345678' -> '+86139******78'."""
    if not number:
        return "unknown"
    digits = number.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = min(6, max(1, len(digits) - 6))
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 2) + digits[-2:]

