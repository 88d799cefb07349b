"""Settings from the environment, idle pausing, the Origin rule, and serving the dashboard."""

from __future__ import annotations

import re
import time
from pathlib import Path

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
