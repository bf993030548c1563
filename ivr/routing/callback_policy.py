"""Who may be called back (pure): only a caller whose number passed verification.

Why: ``From`` is whatever the calling network claims. A call-back to an unverified number lets
anyone make the hotline ring a third party (harassment, or a premium number billed to the bank).
A number counts as verified when Twilio's ``StirVerstat`` says the carrier attested it
(SHAKEN/STIR, default: full attestation ``TN-Validation-Passed-A``) or it starts with a prefix
the deployment trusts (carriers that verify caller ID themselves).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)


def verified(number: str, stir_verstat: str | None, verified_stir: Iterable[str],
             trusted_prefixes: Iterable[str]) -> bool:
    """True if ``number`` may be called back."""
    if not E164.fullmatch(number or ""):
        return False
    if stir_verstat and stir_verstat in set(verified_stir):
        return True
    return any(number.startswith(p) for p in trusted_prefixes)
