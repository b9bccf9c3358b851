"""Retrieval and zero-shot evaluation: pure metrics plus runners over CSV datasets."""
