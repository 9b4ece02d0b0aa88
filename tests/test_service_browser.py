"""`screening serve` called from a real browser: headless Chromium (Playwright for Python) on a
page served from another 127.0.0.1 port, through CORS. Every call carries a signed JWT in an
Authorization header, so the browser sends a preflight first (CDS Hooks 2.0, "Cross-Origin
Resource Sharing"): discovery, a duo's appointment-book hook and feedback on its cards. A page
from an origin the service was not told about (`--allow-origin`) is refused by the browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

pytest.importorskip("fastapi")
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="!! CORS BROWSER TEST NOT RUN: Playwright for Python is not installed (test extra) !!"
)
from browser_support import ARGS, CHROMIUM, chromium_or_skip

chromium_or_skip("CORS BROWSER TEST")

from conftest import EXAMPLES
from service_support import Keys, StubEHR, hook_request, responses_for, searchset
from test_service_process import Served

from screening import screen
from screening.interop.cds_hooks import RULE_EXTENSION

DUO = ["Patient/p1", "Patient/p2"]
# The client page: one function that calls the service as an EHR's browser app would.
PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CDS client</title></head><body>
<script>
async function call(url, token, body) {
  const init = {method: body === null ? "GET" : "POST", headers: {"Authorization": "Bearer " + token}};
  if (body !== null) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  try {
    const response = await fetch(url, init);
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}
</script></body></html>"""


class Page:
    """The client page on its own port: its origin is http://127.0.0.1:<port>."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pages() -> Iterator[tuple[Page, Page]]:
    allowed, other = Page(), Page()
    yield allowed, other
    allowed.close()
    other.close()


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_a_browser_client_calls_discovery_a_hook_and_feedback_through_cors(pages, browser, tmp_path):
    allowed, other = pages
    keys = Keys()
    duo = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
    prefetch = {"intake": searchset(*responses_for(duo, DUO).values())}
    with StubEHR(keys) as ehr:
        served = Served(ehr, 1, tmp_path, "--allow-origin", allowed.origin)
        try:
            base = served.base
            page = browser.new_page()
            page.goto(allowed.origin + "/")

            def call(path: str, body: dict | None = None) -> dict:
                token = keys.token(base + path)  # the audience is the endpoint's URL
                return page.evaluate("([u, t, b]) => call(u, t, b)", [base + path, token, body])

            discovery = call("/cds-services")
            assert discovery["status"] == 200, discovery
            assert {s["hook"] for s in discovery["body"]["services"]} == {"appointment-book", "patient-view"}

            path = "/cds-services/screening-appointment"
            hooked = call(path, hook_request("appointment-book", DUO[0], patients=DUO, prefetch=prefetch))
            assert hooked["status"] == 200, hooked
            cards = hooked["body"]["cards"]
            expected = [(f.rules[0].rule_id, f.rules[0].participant) for f in screen(duo).findings]
            assert [
                (c["extension"][RULE_EXTENSION]["rule_id"], c["extension"][RULE_EXTENSION]["participant"]) for c in cards
            ] == (expected)

            entry = {
                "card": cards[0]["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": cards[0]["overrideReasons"][0]},
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
            }
            feedback = call(path + "/feedback", {"feedback": [entry]})
            assert feedback["status"] == 200, feedback

            # the same calls from an origin the service was not given: the preflight gets no
            # Access-Control-Allow-Origin, so the browser refuses and the hook is never sent
            stranger = browser.new_page()
            stranger.goto(other.origin + "/")
            for target, body in (
                ("/cds-services", None),
                (path, hook_request("appointment-book", DUO[0], patients=DUO, prefetch=prefetch)),
            ):
                refused = stranger.evaluate("([u, t, b]) => call(u, t, b)", [base + target, keys.token(base + target), body])
                assert refused == {"error": "TypeError: Failed to fetch"}
        finally:
            log = served.stop()
    # Chromium sent a preflight before each call (Authorization is not a CORS-safelisted header)
    assert log.count("OPTIONS /cds-services ") == 2 and log.count(f"OPTIONS {path} ") == 2
    assert log.count(f"OPTIONS {path}/feedback ") == 1
    # the refused hook never reached the service: one POST to the hook, the allowed page's
    assert log.count(f"POST {path} ") == 1
