"""How the shipped weights were built: one program each (`python -m recipes.lite`, `python -m recipes.audio`).

The library in `retrieval/` never imports this package.
"""
