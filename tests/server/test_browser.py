"""The page in a real browser: Debian's Chromium driven by Playwright (no browser download; fails if missing)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.slow  # real processes, kills or a browser: tens of seconds

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

LOADED_THUMBS = """() => {
  const inView = (i) => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; };
  const imgs = [...document.querySelectorAll('.card img.thumb')].filter(inView);  // lazy: only these load
  return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0); }"""

DROP = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    document.body.dispatchEvent(new DragEvent(kind, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""


def test_search_detail_example_similar_and_audio_in_chromium(server_process, served_index, tmp_path: Path) -> None:
    assert Path(CHROMIUM).is_file(), "install Debian's chromium (apt-get install chromium)"
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(server_process.url)
        page.keyboard.press("/")
        expect(page.locator("#q")).to_be_focused()
        page.keyboard.type("a dolphin jumping", delay=30)
        expect(page.locator("#status")).to_contain_text("for “a dolphin jumping”")
        page.wait_for_function(LOADED_THUMBS)
        expect(page).to_have_url(re.compile(r"\?q=a\+dolphin\+jumping"))
        expect(page.locator(".card").first).to_contain_text("dolphin")
        page.screenshot(path=str(tmp_path / "search.png"))

        page.keyboard.press("ArrowDown")  # from the search box into the grid
        page.keyboard.press("ArrowRight")
        expect(page.locator(".card").nth(1)).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#detail")).to_have_attribute("open", "")
        page.wait_for_function(
            "() => { const i = document.querySelector('#detail .big-image');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        expect(page.locator("#detail")).to_contain_text("dimensions")
        page.keyboard.press("Escape")
        expect(page.locator("#detail")).not_to_have_attribute("open", "")

        page.locator("#file-input").set_input_files(str(served_index.media / "skimage" / "chelsea.png"))
        expect(page.locator(".card .title").first).to_have_text("chelsea.png")
        expect(page.locator("#status")).to_contain_text("like chelsea.png")

        rocket = (served_index.media / "skimage" / "rocket.jpg").read_bytes()
        page.evaluate(DROP, ["rocket.jpg", "image/jpeg", base64.b64encode(rocket).decode()])
        expect(page.locator(".card .title").first).to_have_text("rocket.jpg")

        first_id = page.locator(".card").first.get_attribute("data-id")
        page.locator(".card .similar").first.click()
        expect(page).to_have_url(re.compile(rf"\?similar={first_id}$"))
        expect(page.locator(".card").first).to_have_attribute("data-id", str(first_id))

        page.goto(f"{server_process.url}/?q=seven&modality=audio")
        audio = page.locator(".card audio").first
        expect(audio).to_be_attached()
        start = float(audio.get_attribute("data-start") or 0)
        page.evaluate("(a) => a.play()", audio.element_handle())
        page.wait_for_function("(a) => !a.error && (a.currentTime > 0.05 || a.ended)", arg=audio.element_handle())
        assert page.evaluate("(a) => a.currentTime", audio.element_handle()) >= start

        page.go_back()
        expect(page.locator("#q")).to_have_value("")
        page.go_forward()
        expect(page.locator("#q")).to_have_value("seven")
        expect(page.locator('#modality [data-value="audio"]')).to_have_attribute("aria-checked", "true")

        page.goto(f"{server_process.url}/?q=a+dolphin&min=0.99")
        expect(page.locator("#status")).to_contain_text("No results above 0.99")
        assert not errors, errors
        page.goto(f"{server_process.url}/?q=x&where=nosuch%3D1")  # a 400 the page shows inline
        expect(page.locator("#where-error")).to_contain_text("unknown column 'nosuch'")
        page.screenshot(path=str(tmp_path / "where-error.png"))
        browser.close()
