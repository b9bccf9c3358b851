"""The one indexing pipeline: scan -> plan -> load (worker processes) -> encode -> write -> FAISS sync."""
