"""docker-compose.cluster.yml read as data (no Docker engine here): the deployment docs/scaling.md shows.

Its commands also run for real, outside containers, in test_cluster_ray.py (cluster_scenario.py).
"""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

import pytest
from cluster_harness import COMPOSE_FILE

from backproplab.cli import settings_from

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the ray extra")
RAY_SERVICES = ("ray-head", "trainer-1", "trainer-2")
WEB_SERVICES = ("web-1", "web-2")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def command(compose: dict, service: str) -> list[str]:
    return shlex.split(compose["services"][service]["command"])


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_the_services_of_the_deployment(compose):
    assert set(compose["services"]) == {"postgres", *RAY_SERVICES, *WEB_SERVICES, "proxy"}
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    build = compose["services"]["web-1"]["build"]
    assert '"/src[ray,postgres]"' in build["dockerfile_inline"], "the image has the extras for scale"
    images = {compose["services"][name]["image"] for name in (*RAY_SERVICES, *WEB_SERVICES)}
    assert images == {"backproplab-cluster:latest"}, "one image for Ray and the web replicas"


def test_the_head_trains_nothing_and_the_trainer_nodes_join_it(compose):
    head = command(compose, "ray-head")
    assert head[:3] == ["ray", "start", "--head"] and option(head, "--num-cpus") == "0" and "--block" in head
    port = option(head, "--port")
    for name in ("trainer-1", "trainer-2"):
        words = command(compose, name)
        assert words[:2] == ["ray", "start"] and option(words, "--address") == f"ray-head:{port}"
        assert int(option(words, "--num-cpus")) >= 1 and "--block" in words
        assert compose["services"][name]["restart"] == "unless-stopped", "rejoins a head that came back"


def test_every_ray_command_is_one_ray_accepts(compose):
    pytest.importorskip("ray", reason="the ray extra")
    from ray.scripts.scripts import start

    for name in RAY_SERVICES:
        words = command(compose, name)
        start.make_context("ray start", words[2:])  # click checks every option without starting anything


def test_the_web_replicas_use_the_cluster_and_the_database(compose):
    head_port = option(command(compose, "ray-head"), "--port")
    cpus = sum(int(option(command(compose, name), "--num-cpus")) for name in ("trainer-1", "trainer-2"))
    postgres = compose["services"]["postgres"]["environment"]
    for name in WEB_SERVICES:
        service = compose["services"][name]
        words = command(compose, name)
        assert words[:2] == ["backproplab", "serve"]
        settings = settings_from(words[1:])
        assert (settings.trainers, settings.ray_address) == ("ray", f"ray-head:{head_port}")
        assert settings.ray_trainers == str(cpus), "one trainer actor per trainer CPU"
        assert (settings.host, settings.port) == ("0.0.0.0", 8000)
        url = urlsplit(service["environment"]["BACKPROPLAB_DATABASE_URL"])
        assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
        assert (url.username, url.password, url.path) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            "/" + postgres["POSTGRES_DB"],
        )
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert "/api/health" in " ".join(service["healthcheck"]["test"])


def test_every_ray_process_presents_the_cluster_token(compose):
    for name in (*RAY_SERVICES, *WEB_SERVICES):
        environment = compose["services"][name]["environment"]
        assert environment["RAY_AUTH_MODE"] == "token"
        assert environment["RAY_AUTH_TOKEN"].startswith("${RAY_AUTH_TOKEN:?")
        assert environment["RAY_worker_niceness"] == "0", "trainers at normal priority"


def test_the_proxy_balances_both_replicas_and_passes_websockets(compose):
    proxy = compose["services"]["proxy"]
    config = compose["configs"][proxy["configs"][0]["source"]]["content"]
    for name in WEB_SERVICES:
        assert f"server {name}:8000" in config
    assert "proxy_set_header Upgrade $$http_upgrade;" in config
    assert "proxy_set_header Connection $$connection_upgrade;" in config
    assert "proxy_next_upstream error timeout" in config, "a dead replica's requests go to the other"
    # The browser's Origin has the port: so must the Host the replicas see, or every change is cross-site.
    assert "proxy_set_header Host $$http_host;" in config and "$$host;" not in config
    # Each browser is a client of its own: its address, set (not appended to) by the proxy, which the
    # replicas trust, and limited per browser at the proxy.
    assert "proxy_set_header X-Forwarded-For $$remote_addr;" in config
    assert "limit_req zone=clients" in config and "limit_req_zone $$binary_remote_addr zone=clients" in config
    for name in WEB_SERVICES:
        assert compose["services"][name]["environment"]["BACKPROPLAB_TRUSTED_PROXIES"] == "*"
    assert proxy["ports"] == ["8000:80"]
