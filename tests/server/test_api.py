"""The JSON API through the ASGI app, on the real session index."""

from __future__ import annotations

import io
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from cli.app import app
from server.routes.items import camera_name
from server.thumbnails import ThumbnailCache, placeholder


def _search(client, **params):
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_text_search_has_the_cli_json_shape_and_finds_the_right_photos(client, served_index) -> None:
    body = _search(client, q="a dolphin jumping out of the water", k=3, modality="image")
    args = ["query", "a dolphin jumping out of the water", "-k", "3", "--modality", "image", "--json"]
    cli = json.loads(CliRunner().invoke(app, [*args, "--db", str(served_index.db)]).stdout)
    assert body["model"] == cli["model"] and body["results"] == cli["results"]  # the `query --json` shape
    assert [h["rank"] for h in body["results"]] == [1, 2, 3]
    assert "/dolphin/" in body["results"][0]["path"]


def test_modalities_and_pages(client) -> None:
    for modality in ("image", "audio", "text"):
        assert {h["modality"] for h in _search(client, q="seven", k=5, modality=modality)["results"]} == {modality}
    first = _search(client, q="an animal", k=5)
    second = _search(client, q="an animal", k=5, offset=5)
    assert first["has_more"] and [h["rank"] for h in second["results"]] == [6, 7, 8, 9, 10]
    assert not {h["id"] for h in first["results"]} & {h["id"] for h in second["results"]}
    assert client.get("/api/search", params={"q": "x", "k": 600, "offset": 500}).status_code == 400


def test_text_results_carry_their_caption_and_audio_their_clip(client) -> None:
    text = _search(client, q="a dog running on the beach", k=1, modality="text")["results"][0]
    assert text["text"] and text["path"].endswith("captions.csv")
    audio = _search(client, q="seven", k=1, modality="audio")["results"][0]
    assert audio["start_s"] == 0.0 and audio["end_s"] > 0


def test_folder_type_and_date_filters(client, served_index) -> None:
    assert {"/dolphin/" in h["path"] for h in _search(client, q="x", k=50, folder="dolphin")["results"]} == {True}
    prefix = str(served_index.media / "skimage")
    hits = _search(client, q="x", k=50, folder=prefix)["results"]
    assert len(hits) == 8 and all(h["path"].startswith(prefix + "/") for h in hits)
    assert {Path(h["path"]).suffix for h in _search(client, q="x", k=100, type="png,JPG")["results"]} == {
        ".png",
        ".jpg",
    }
    assert _search(client, q="x", k=5, date_from="2999-01-01")["results"] == []
    assert len(_search(client, q="x", k=5, date_to="2999-01-01")["results"]) == 5
    both = _search(client, q="x", k=50, folder="dolphin", where="width > 0", type="jpg")
    assert both["results"] and "starts_with" not in both["where"] and "width > 0" in both["where"]


def test_capture_date_filter_and_detail_use_the_photos_exif(client) -> None:
    day = _search(client, q="a cup of coffee", k=50, date_from="2019-07-14", date_to="2019-07-14")["results"]
    assert [Path(h["path"]).name for h in day] == ["coffee-canon.jpg"]
    assert day[0]["camera_make"] == "Canon" and day[0]["taken_offset"] == "+02:00"
    detail = client.get(f"/api/items/{day[0]['id']}").json()["file"]
    assert detail["taken_at"] == "2019-07-14 16:05:09+02:00" and detail["camera"] == "Canon EOS 5D"
    assert not _search(client, q="a cup of coffee", k=50, date_from="2019-07-15", date_to="2019-07-15")["results"]


def test_filter_values_are_quoted_not_executed(client) -> None:
    assert _search(client, q="x", folder="x/' OR 1=1 OR path = '")["results"] == []
    assert _search(client, q="x", folder="it's")["results"] == []
    response = client.get("/api/search", params={"q": "x", "type": "jpg') OR (1=1"})
    assert response.status_code == 400 and "file type" in response.json()["error"]


def test_a_bad_where_is_a_400_with_the_library_message(client) -> None:
    response = client.get("/api/search", params={"q": "x", "where": "nosuchcolumn = 1"})
    assert response.status_code == 400
    assert response.json() == {"error": response.json()["error"]} and "unknown column 'nosuchcolumn'" in response.text
    statement = client.get("/api/search", params={"q": "x", "where": "1=1; DROP TABLE items"})
    assert statement.status_code == 400


def test_search_by_uploaded_image_and_sound(client, served_index) -> None:
    photo = served_index.media / "skimage" / "chelsea.png"
    body = client.post(
        "/api/search/upload",
        params={"k": 3, "modality": "image"},
        files={"file": ("cat.png", photo.read_bytes(), "image/png")},
    ).json()
    assert body["results"][0]["path"] == str(photo) and body["results"][0]["score"] > 0.99
    wav = sorted((served_index.media / "sounds").glob("*.wav"))[3]
    body = client.post(
        "/api/search/upload",
        params={"k": 3, "modality": "audio"},
        files={"file": ("clip", wav.read_bytes(), "audio/wav")},
    ).json()
    assert body["results"][0]["path"] == str(wav)
    bad = client.post("/api/search/upload", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert bad.status_code == 400 and "unsupported file type" in bad.json()["error"]
    broken = client.post("/api/search/upload", files={"file": ("broken.jpg", b"not a jpeg", "image/jpeg")})
    assert broken.status_code == 400


def test_similar_ranks_the_item_itself_first(client) -> None:
    hit = _search(client, q="an elephant", k=1, modality="image")["results"][0]
    similar = client.get(f"/api/items/{hit['id']}/similar", params={"k": 4}).json()
    assert similar["results"][0]["id"] == hit["id"] and similar["results"][0]["score"] > 0.99
    assert client.get("/api/items/999999/similar").status_code == 404


def test_item_detail_has_catalog_fields_and_file_facts(client) -> None:
    hit = _search(client, q="a cat", k=1, modality="image")["results"][0]
    detail = client.get(f"/api/items/{hit['id']}").json()
    assert detail["item"]["content_hash"] == hit["content_hash"]
    assert detail["file"]["exists"] and detail["file"]["size_bytes"] == Path(hit["path"]).stat().st_size
    assert detail["file"]["width"] == hit["width"] and detail["media_url"].endswith("/media")
    missing = client.get("/api/items/999999")
    assert missing.status_code == 404 and missing.json() == {"error": "no item with id 999999"}


def test_camera_name() -> None:
    assert camera_name("Canon", "Canon EOS 5D") == "Canon EOS 5D"
    assert camera_name("NIKON CORPORATION", "D750") == "NIKON CORPORATION D750"
    assert camera_name(None, None) is None


def test_thumbnails_are_cached_by_content_hash(client, served_index) -> None:
    hit = _search(client, q="a pizza", k=1, modality="image")["results"][0]
    first = client.get(f"/api/items/{hit['id']}/thumbnail")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(first.content)).size) == 256 or max(hit["width"], hit["height"]) < 256
    cached = list((served_index.db / "thumbnails").glob("*.jpg"))
    assert cached and not list((served_index.db / "thumbnails").glob(".tmp-*"))
    second = client.get(f"/api/items/{hit['id']}/thumbnail")
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]


def test_many_first_requests_at_once_all_get_their_thumbnail(tmp_path: Path, served_index) -> None:
    """The page asks for a screenful of new thumbnails at once; none may fail while others are written."""
    rows = [
        {"id": n, "modality": "image", "path": str(photo), "content_hash": f"h{n}"}
        for n, photo in enumerate(sorted((served_index.media / "photos").rglob("*.jpg")))
    ]
    for _ in range(5):
        cache = ThumbnailCache(tmp_path / "thumbs", 64, max_bytes=10_000_000)
        with ThreadPoolExecutor(16) as pool:
            thumbs = list(pool.map(cache.get, rows * 2))
        assert all(t.path is not None and t.path.is_file() for t in thumbs)
        shutil.rmtree(tmp_path / "thumbs")


def test_audio_and_text_get_icons(client) -> None:
    for modality in ("audio", "text"):
        hit = _search(client, q="seven", k=1, modality=modality)["results"][0]
        response = client.get(f"/api/items/{hit['id']}/thumbnail")
        assert response.status_code == 200 and response.content == placeholder(modality, 256)
        assert Image.open(io.BytesIO(response.content)).size == (256, 256)


def test_thumbnail_cache_is_bounded_never_stale_and_survives_corrupt_files(tmp_path: Path, served_index) -> None:
    photos = sorted((served_index.media / "photos").rglob("*.jpg"))[:6]
    cache = ThumbnailCache(tmp_path / "thumbs", 128, max_bytes=12_000)
    for n, photo in enumerate(photos):
        thumb = cache.get({"id": n, "path": str(photo), "modality": "image", "content_hash": f"h{n}"})
        assert thumb.path is not None
    assert sum(p.stat().st_size for p in (tmp_path / "thumbs").glob("*.jpg")) <= 12_000
    source = tmp_path / "changing.jpg"
    Image.new("RGB", (300, 200), "red").save(source)
    red = cache.get({"id": 1, "path": str(source), "modality": "image", "content_hash": "red"})
    Image.new("RGB", (300, 200), "blue").save(source)
    blue = cache.get({"id": 1, "path": str(source), "modality": "image", "content_hash": "blue"})
    assert red.path != blue.path and Image.open(blue.path).getpixel((10, 10))[2] > 200
    source.write_bytes(b"\xff\xd8 truncated jpeg")
    broken = cache.get({"id": 1, "path": str(source), "modality": "image", "content_hash": "corrupt"})
    assert broken.path is None and broken.data == placeholder("broken", 128)
    gone = cache.get({"id": 1, "path": str(tmp_path / "nope.jpg"), "modality": "image", "content_hash": "gone"})
    assert gone.data == placeholder("broken", 128)


def test_media_supports_range_requests(client) -> None:
    hit = _search(client, q="seven", k=1, modality="audio")["results"][0]
    data = Path(hit["path"]).read_bytes()
    whole = client.get(f"/api/items/{hit['id']}/media")
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"].startswith("audio/")
    part = client.get(f"/api/items/{hit['id']}/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    text = _search(client, q="a dog", k=1, modality="text")["results"][0]
    assert client.get(f"/api/items/{text['id']}/media").status_code == 404


def test_classify_uploaded_files(client, served_index) -> None:
    cat = (served_index.media / "skimage" / "chelsea.png").read_bytes()
    response = client.post(
        "/api/classify",
        data={"labels": "cat, rocket, cup of coffee, airplane"},
        files=[("files", ("chelsea.png", cat, "image/png"))],
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["source"] == "chelsea.png" and result["label"] == "cat"
    one = client.post("/api/classify", data={"labels": "cat"}, files=[("files", ("c.png", cat, "image/png"))])
    assert one.status_code == 400 and "two labels" in one.json()["error"]


def test_info_health_openapi_and_offline_docs(client, engine) -> None:
    info = client.get("/api/info").json()
    assert info["counts"] == engine.info().counts and info["model_id"].startswith("lite")
    assert client.get("/api/health").json() == {"status": "ok", "generation": engine.catalog.meta().generation}
    spec = client.get("/openapi.json").json()
    assert {
        "/api/search",
        "/api/search/upload",
        "/api/items/{item_id}/similar",
        "/api/items/{item_id}",
        "/api/items/{item_id}/thumbnail",
        "/api/items/{item_id}/media",
        "/api/classify",
        "/api/info",
        "/api/health",
    } <= set(spec["paths"])
    docs = client.get("/docs")
    assert (
        docs.status_code == 200
        and "/static/js/docs.js" in docs.text
        and "http" not in docs.text.replace("http-equiv", "")
    )


def test_validation_errors_are_one_json_line(client) -> None:
    response = client.get("/api/search", params={"q": "x", "k": 0})
    assert response.status_code == 422 and list(response.json()) == ["error"] and "k" in response.json()["error"]
    assert client.get("/api/nothing-here").json() == {"error": "Not Found"}
