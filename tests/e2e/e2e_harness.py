"""Helpers of the browser tests (fixtures are in conftest.py; import these by this module's name, never
from conftest).

Waits are generous: the machine may be loaded, and a wait only lasts this long when something is wrong.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from typing import Any

WAIT_MS = 30_000  # Playwright waits, in milliseconds


def api(server, path: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> Any:
    """A REST call; ``token``: as that identity (a change needs the owner's token). JSON answers are
    parsed; anything else (a CSV export) comes back as bytes."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{server.url}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        if response.headers.get_content_type() == "application/json" or not text:
            return json.loads(text or b"null")
        return text


def run_id(page) -> str:
    """The id of the run the dashboard shows."""
    return page.evaluate("() => window.backproplab.app.state.run.id")


def wait_until(predicate, timeout: float = WAIT_MS / 1000, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


# The dashboard after a run at lr = 50 stopped learning: 200 steps of losses of ~40 in its history and the
# stopped-learning banner (two lines at 1280x800) over the panels.
STOPPED_LEARNING = """() => { const app = window.backproplab.app;
  const losses = Array.from({ length: 200 }, (_, k) => 30 + 12 * Math.abs(Math.sin(k)));
  app.state.history.append({ step: losses.map((_, k) => k + 1), train_loss: losses, test_loss: losses,
    lr: losses.map(() => 50), train_accuracy: losses.map(() => 0.5), test_accuracy: losses.map(() => 0.5),
    grad_norm: losses.map((v) => [v, v, v]) });
  app.state.run.learning = { kind: "saturated", fix: null, reset: true, message: "For the last 90,847 steps "
    + "the loss has been no better than guessing (0.692). 97% of the tanh/sigmoid units are saturated: their "
    + "input is so large that their slope is almost 0, so the gradients barely move anything." };
  app.emit("frame", { metrics: {} }); }"""

# Per row of a PNG, how many pixels have a channel darker than ``below`` (ink or a shade on a white ground),
# decoded in the page as an image (the pages' CSP allows data: images).
DARK_ROWS = """async ([png, below]) => {
  const image = new Image();
  image.src = `data:image/png;base64,${png}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [image.width, image.height];
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, image.width, image.height).data;
  const rows = [];
  for (let y = 0; y < image.height; y++) {
    let dark = 0;
    for (let i = 4 * y * image.width; i < 4 * (y + 1) * image.width; i += 4) {
      if (Math.min(data[i], data[i + 1], data[i + 2]) < below) dark++;
    }
    rows.push(dark);
  }
  return rows;
}"""


def dark_rows(page, clip: dict, below: int = 245) -> list[int]:
    """What the screen shows in ``clip`` (CSS px; a context's device scale is 1), as ``DARK_ROWS`` counts."""
    png = base64.b64encode(page.screenshot(clip=clip)).decode()
    return page.evaluate(DARK_ROWS, [png, below])
