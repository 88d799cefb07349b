"""/docs and /redoc render in the browser from this server's own files (no CDN, no internet needed).

ReDoc's sidebar always asks for its maker's logo from their CDN; the page's Content-Security-Policy blocks
that before it leaves the browser (ReDoc then leaves the logo out), so nothing is ever fetched elsewhere."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest


@pytest.mark.parametrize(
    ("path", "selector"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "redoc [data-section-id]")]
)
def test_api_docs_render_offline(server, browser, path, selector):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    own = ("", f"127.0.0.1:{server.port}")
    fetched: list[str] = []  # answers from another host: must stay empty
    blocked: list[str] = []
    problems: list[str] = []
    page.on(
        "response", lambda response: urlsplit(response.url).netloc not in own and fetched.append(response.url)
    )
    page.on("requestfailed", lambda request: blocked.append(f"{request.url} {request.failure}"))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url + path)
    page.wait_for_selector(selector, timeout=20_000)
    assert page.locator(selector).count() > 5, "the operations are listed"
    assert fetched == [], f"{path} loaded from another host: {fetched}"
    assert all("csp" in failure.lower() for failure in blocked), blocked
    assert problems == []
    context.close()
