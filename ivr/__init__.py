"""elder-ivr: a voice IVR for hotlines, built for elderly callers."""

__version__ = "0.1.0"
