"""A minimal Wagtail site for the end-to-end test (see ../e2e.py)."""
