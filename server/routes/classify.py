"""Zero-shot classification of uploaded images and sounds among typed labels."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile

from server.params import service
from server.schemas import ClassifyResponse, ErrorResponse
from server.service import SearchService
from server.settings import MAX_CLASSIFY_FILES, MAX_LABELS
from server.uploads import saved_uploads

router = APIRouter(prefix="/api", tags=["classify"], responses={400: {"model": ErrorResponse}})


def parse_labels(text: str) -> list[str]:
    """Labels separated by commas or new lines, blanks dropped, order kept, duplicates removed."""
    labels = list(dict.fromkeys(p.strip() for p in text.replace("\n", ",").split(",") if p.strip()))
    if len(labels) < 2:
        raise HTTPException(400, "give at least two labels, separated by commas")
    if len(labels) > MAX_LABELS:
        raise HTTPException(400, f"at most {MAX_LABELS} labels")
    return labels


@router.post("/classify", response_model=ClassifyResponse)
def classify(
    labels: str = Form(..., max_length=5_000, description="comma-separated labels, e.g. 'cat, dog, car'"),
    files: list[UploadFile] = File(..., description="images or sounds"),
    top_k: int = Form(3, ge=1, le=20),
    engine: SearchService = Depends(service),
) -> ClassifyResponse:
    """Which of `labels` each uploaded file shows (or sounds like)."""
    names = parse_labels(labels)
    if len(files) > MAX_CLASSIFY_FILES:
        raise HTTPException(400, f"at most {MAX_CLASSIFY_FILES} files at a time")
    with saved_uploads(files) as paths:
        results = engine.classify(paths, names, top_k)
    sources = {str(path): upload.filename or path.name for path, upload in zip(paths, files)}
    return ClassifyResponse(
        labels=names, results=[{**r.to_dict(), "source": sources.get(r.source, r.source)} for r in results]
    )
