"""Helpers the tests share, importable as ``helpers.<module>`` (pytest puts tests/ on the path)."""
