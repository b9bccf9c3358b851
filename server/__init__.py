"""`mmsearch serve`: a JSON API and a web page over one read-only `Engine` (FastAPI + uvicorn)."""
