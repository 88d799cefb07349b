"""Settings from the environment, idle pausing, the Origin rule, and serving the dashboard."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from backproplab.server import static
from backproplab.server.hosts import origin_allowed
from backproplab.server.settings import Settings


def test_settings_from_env(tmp_path):
    environ = {
        "BACKPROPLAB_PORT": "9001",
        "BACKPROPLAB_DATA_DIR": str(tmp_path),
        "BACKPROPLAB_ALLOWED_ORIGINS": "http://a.example, https://b.example",
        "BACKPROPLAB_UNWATCHED_PAUSE": "2.5",
    }
    settings = Settings.from_env(environ, host="0.0.0.0")
    assert settings.port == 9001 and settings.host == "0.0.0.0" and settings.data_dir == tmp_path
    assert settings.allowed_origins == ("http://a.example", "https://b.example")
    assert settings.unwatched_pause == 2.5
    assert Settings.from_env({}).data_dir == Path.home() / ".backproplab"


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "hosts", "expected"),
    [
        (None, "127.0.0.1:8000", (), (), True),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", (), (), True),
        ("http://localhost", "localhost", (), (), True),
        ("https://lab.example", "lab.example:443", (), ("lab.example",), True),
        ("https://lab.example", "lab.example", (), ("lab.example",), True),  # behind a TLS proxy
        ("https://lab.example", "lab.example:443", (), (), False),  # not one of the server's names
        ("http://evil.example", "evil.example", (), (), False),  # DNS rebinding: Host is the attacker's
        ("http://127.0.0.1:9999", "127.0.0.1:8000", (), (), False),
        ("http://evil.example", "127.0.0.1:8000", (), (), False),
        ("null", "127.0.0.1:8000", (), (), False),
        ("http://127.0.0.1:8000", "127.0.0.1:abc", (), (), False),  # a malformed port is no origin
        ("http://127.0.0.1:99999", "127.0.0.1:8000", (), (), False),
        ("http://good.example", "127.0.0.1:8000", ("http://good.example",), (), True),
        ("http://any.example", "127.0.0.1:8000", ("*",), (), True),
    ],
)
def test_origin_rule(origin, host, allowed, hosts, expected, tmp_path):
    settings = Settings(data_dir=tmp_path, allowed_origins=allowed, allowed_hosts=hosts)
    assert origin_allowed(origin, host, settings) is expected


def test_unwatched_runs_are_paused(tmp_path, app_client):
    with app_client(Settings(data_dir=tmp_path, unwatched_pause=0.3)) as client:
        run_id = client.post("/api/runs", json={}).json()["id"]
        assert client.post(f"/api/runs/{run_id}/play").json()["status"] == "running"
        time.sleep(1.5)
        assert client.get(f"/api/runs/{run_id}").json()["status"] == "paused"


def test_serves_the_dashboard(tmp_path, monkeypatch, app_client):
    site = tmp_path / "frontend"
    (site / "vendor").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>lab</title>")
    (site / "vendor" / "lib.js").write_text("export {};")
    monkeypatch.setattr(static, "REPO_FRONTEND", site)
    monkeypatch.setattr(static.resources, "files", lambda package: tmp_path / "not-installed")
    with app_client(Settings(data_dir=tmp_path)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<title>lab</title>" in page.text
        assert page.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/vendor/lib.js").headers["cache-control"].startswith("public")
        assert client.get("/api/health").json()["status"] == "ok"
        assert client.get("/../../etc/passwd").status_code == 404
        assert client.get("/%2e%2e/%2e%2e/etc/passwd").status_code == 404
        assert client.get("/vendor/missing.js").status_code == 404


def test_dashboard_files_are_gzipped_revalidated_and_read_again_when_changed(
    tmp_path, monkeypatch, app_client
):
    """What a class loading the page at once needs: a compressed body for a browser that accepts it, a 304
    for one that has the file, and after an edit of the file on disk its new content (not a stale copy)."""
    site = tmp_path / "frontend"
    (site / "src").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>lab</title>")
    module = site / "src" / "main.js"
    source = "export const answer = 42;\n" * 200
    module.write_text(source)
    monkeypatch.setattr(static, "REPO_FRONTEND", site)
    monkeypatch.setattr(static.resources, "files", lambda package: tmp_path / "not-installed")
    with app_client(Settings(data_dir=tmp_path)) as client:
        plain = client.get("/src/main.js", headers={"Accept-Encoding": "identity"})
        assert plain.text == source and "content-encoding" not in plain.headers
        assert plain.headers["content-type"].startswith("text/javascript")
        packed = client.get("/src/main.js", headers={"Accept-Encoding": "gzip, br"})
        assert packed.headers["content-encoding"] == "gzip" and packed.text == source  # httpx decodes it
        assert int(packed.headers["content-length"]) < len(source) / 10
        assert packed.headers["vary"] == "accept-encoding"
        etag = plain.headers["etag"]
        again = client.get("/src/main.js", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        head = client.head("/src/main.js", headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(source))
        assert client.post("/src/main.js").status_code == 405
        edited = "export const answer = 43;\n"
        module.write_text(edited)
        changed = client.get("/src/main.js", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.text == edited and changed.headers["etag"] != etag
        module.unlink()
        assert client.get("/src/main.js").status_code == 404


def test_api_docs_load_nothing_from_another_host(client):
    """/docs and /redoc work offline: every script, style and icon they name is served by this server."""
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        html = response.text
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html
        sources = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert sources, html
        for source in sources:
            assert source.startswith("/"), f"{page} loads {source} from elsewhere"
            assert client.get(source).status_code == 200, source
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_head_is_answered_wherever_get_is(server):
    """Monitors probe with HEAD: the same status and headers as GET, and no body."""
    for path in (
        "/",
        "/docs",
        "/redoc",
        "/api/health",
        "/api/presets",
        "/openapi.json",
        "/vendor/uplot/uPlot.min.css",
    ):
        head, get = httpx.head(server.url + path), httpx.get(server.url + path)
        assert head.status_code == get.status_code == 200, path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.content == b"", path
    missing = httpx.head(server.url + "/api/runs/nope")
    assert missing.status_code == 404 and missing.content == b""
