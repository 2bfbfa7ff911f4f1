"""Wagtail renditions made by renditiond: sizes from its plan API, pixels from its /images/ route."""

__version__ = "0.1.0"
