"""Free-text names people type and others see (classes, students, runs, racers' labels) are plain text: a
control character, a bidirectional override or isolate, another invisible format character (a zero width
space), or nothing but spaces is refused with 422 naming the field and saying which character and where;
spaces around a name are dropped; any script is welcome."""

from __future__ import annotations

import pytest

REFUSED = [
    ("a\x00b", "control characters (U+0000 at character 2)"),
    ("Ada\x1b[31m", "control characters (U+001B at character 4)"),
    ("Ada\nGrace", "control characters (U+000A at character 4)"),
    ("Ada\x85Grace", "control characters (U+0085 at character 4)"),
    (
        "a\u202eb<script>",
        "bidirectional overrides or isolates, which reorder the text shown around them (U+202E",
    ),
    ("\u202aAda", "bidirectional overrides or isolates"),
    ("Ada\u2066", "bidirectional overrides or isolates"),
    ("\u2069", "bidirectional overrides or isolates"),
    ("A\u200bda", "invisible formatting characters (U+200B at character 2)"),
    ("\ufeffAda", "invisible formatting characters (U+FEFF at character 1)"),
    ("Ada\u2060", "invisible formatting characters (U+2060"),
    ("", "must not be empty or only spaces"),
    (" \t\u3000 ", "must not be empty or only spaces"),
]
WELCOME = [
    ("  Ada  ", "Ada"),
    ("أحمد", "أحمد"),
    ("李雷", "李雷"),
    ("Zoë 🎓", "Zoë 🎓"),
    ("a\u200fb", "a\u200fb"),
    ("می\u200cخواهم", "می\u200cخواهم"),  # ZWNJ, as Persian is written
    ("👩\u200d🎓", "👩\u200d🎓"),  # ZWJ: one emoji
]


def name_routes(client):
    """{what: (send(name) -> response, the field a 422 names)}: every request body with a free-text name."""
    group = client.post("/api/classes", json={"name": "Period 3"}).json()
    run = client.post("/api/runs", json={}).json()
    racer = {"optimizer": {"name": "sgd"}}
    return {
        "class": (lambda name: client.post("/api/classes", json={"name": name}), "name"),
        "class rename": (
            lambda name: client.patch(f"/api/classes/{group['id']}", json={"name": name}),
            "name",
        ),
        "student": (
            lambda name: client.post(
                f"/api/classes/{group['code']}/join", json={"name": name}, headers={"Authorization": ""}
            ),
            "name",
        ),
        "run rename": (lambda name: client.patch(f"/api/runs/{run['id']}", json={"name": name}), "name"),
        "race label": (
            lambda name: client.post("/api/races", json={"racers": [{"optimizer": "sgd", "label": name}]}),
            "racers.0.label",
        ),
        "comparison label": (
            lambda name: client.post(
                "/api/comparisons", json={"racers": [{"label": name, **racer}, {"label": "other", **racer}]}
            ),
            "racers.0.label",
        ),
    }


@pytest.mark.parametrize(
    "what", ["class", "class rename", "student", "run rename", "race label", "comparison label"]
)
def test_a_name_with_characters_that_hide_or_reorder_text_is_refused_naming_the_field(client, what):
    send, field = name_routes(client)[what]
    for name, reason in REFUSED:
        response = send(name)
        assert response.status_code == 422, (what, name, response.text)
        body = response.json()
        assert body["field"] == field and reason in body["reason"], (what, name, body)
        assert body["detail"] == f"{field}: {body['reason']}"


def test_names_in_any_script_are_kept_without_the_spaces_around_them(client):
    routes = name_routes(client)
    for name, kept in WELCOME:
        created = routes["class"][0](name)
        assert created.status_code == 201 and created.json()["name"] == kept, created.text
        renamed = routes["run rename"][0](name)
        assert renamed.status_code == 200 and renamed.json()["name"] == kept, renamed.text
        joined = routes["student"][0](name)
        assert joined.status_code == 201 and joined.json()["name"] == kept, joined.text
    race = routes["race label"][0]("  SGD  ")
    assert race.status_code == 201 and race.json()["racers"][0]["name"] == "SGD", race.text
