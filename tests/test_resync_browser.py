"""Back from a network drop: every page (participant, desk, screen) shows what happened meanwhile
within 2 s of the browser saying it is online again (static/js/lib/connection.js)."""
from __future__ import annotations

import time

import pytest
import requests
import socketio

from conftest import ADMIN_TOKEN, need_browser

need_browser()
from playwright import sync_api  # noqa: E402
expect = sync_api.expect

from live_server import LiveServer  # noqa: E402
from test_faults import proxies  # noqa: E402,F401  (a fixture: a TCP proxy that can cut)

OFFLINE_SECONDS = 30
CAUGHT_UP_SECONDS = 2.0

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """The module's server, on its way up (see `server`)."""
    db = tmp_path_factory.mktemp("resync") / "qa.sqlite3"
    env = {"QA_DATABASE_URL": f"sqlite:///{db}", "QA_SECRET_KEY": "s",
           "QA_ADMIN_TOKEN": ADMIN_TOKEN, "QA_MESSAGE_QUEUE": "", "QA_RATE_LIMITS": "off",
           "QA_ASYNC_MODE": "eventlet"}
    srv = LiveServer(env, args=("--no-demo",)).launch()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(launched, browser):
    """One server for the module, each test making its own event; the browser starts meanwhile."""
    return launched.wait_ready()


@pytest.fixture
def sio_clients():
    """sio_clients(url, auth) -> a connected python-socketio client, disconnected after the test."""
    made: list[socketio.Client] = []
    sessions: list[requests.Session] = []  # the clients' own: closed here, not left to the collector

    def _connect(url: str, auth: dict) -> socketio.Client:
        session = requests.Session()
        sessions.append(session)
        c = socketio.Client(reconnection=False, handle_sigint=False, http_session=session)
        made.append(c)
        c.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
        return c

    yield _connect
    for c in made:
        c.disconnect()  # returns once its threads are done, even when already disconnected
    for session in sessions:
        session.close()


def test_every_page_catches_up_within_2_s_of_coming_back_online(server, contexts, console, sio_clients):
    ev = requests.post(server.url + "/api/events", json={"title": "Resync"},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5).json()
    links = ev["links"]
    pages = {}
    for name, viewport in (("participant", (390, 844)), ("moderator", (1366, 768)), ("screen", (1280, 720))):
        ctx = contexts(viewport={"width": viewport[0], "height": viewport[1]})
        pages[name] = (ctx, console.watch(ctx.new_page(), name))
    phone, desk, screen = (pages[n][1] for n in ("participant", "moderator", "screen"))
    # The three load side by side: each goto returns once its page is on its way.
    for page, link in ((desk, "moderator"), (screen, "screen"), (phone, "participant")):
        page.goto(links[link], wait_until="commit")
    expect(desk.locator("#main")).to_be_visible()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(screen.locator("#live .idle-title")).to_be_visible()

    for ctx, _page in pages.values():
        ctx.set_offline(True)
    cut = time.monotonic()
    try:
        # The pages notice the drop, and socket.io-client's own retries back off meanwhile.
        expect(phone.locator("#conn")).not_to_have_attribute("data-state", "connected", timeout=20_000)
        asker = sio_clients(server.url, {"event": ev["code"], "role": "participant"})
        mod = sio_clients(server.url, {"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]})
        texts = ["Published while you were away?", "On air while you were away?", "Still waiting for a moderator?"]
        ids = []
        for i, text in enumerate(texts):
            ack = asker.call("question:submit", {"client_id": str(i), "theme": "other", "text": text}, timeout=10)
            assert ack["ok"], ack
            ids.append(ack["question"]["id"])
        for qid in ids[:2]:
            assert mod.call("question:moderate", {"id": qid, "action": "approve"}, timeout=10)["ok"]
        assert mod.call("question:moderate", {"id": ids[1], "action": "live"}, timeout=10)["ok"]
        time.sleep(max(0.0, OFFLINE_SECONDS - (time.monotonic() - cut)))
    finally:
        for ctx, _page in pages.values():
            ctx.set_offline(False)
    back = time.monotonic()

    def within_deadline() -> float:
        return max(1.0, (CAUGHT_UP_SECONDS - (time.monotonic() - back)) * 1000)

    checks = [
        lambda: expect(phone.locator("#public-list .question", has_text=texts[0])).to_be_visible(
            timeout=within_deadline()),
        lambda: expect(phone.locator("#public-list .question", has_text=texts[1]).locator(".status-live")).to_have_text(
            "On air", timeout=within_deadline()),
        lambda: expect(screen.locator("#live .layer:not(.is-leaving) .live-text")).to_have_text(
            texts[1], timeout=within_deadline()),
        lambda: expect(screen.locator("#next .layer:not(.is-leaving) .next-text")).to_have_text(
            [texts[0]], timeout=within_deadline()),
        lambda: expect(desk.locator("#onair .onair-text")).to_have_text(texts[1], timeout=within_deadline()),
        lambda: expect(desk.locator("#queue-list .card", has_text=texts[0])).to_be_visible(timeout=within_deadline()),
        lambda: expect(desk.locator("#incoming-list .card", has_text=texts[2])).to_be_visible(
            timeout=within_deadline()),
    ]
    for check in checks:
        check()
    elapsed = time.monotonic() - back
    assert elapsed < CAUGHT_UP_SECONDS, f"caught up after {elapsed:.2f} s"
    print(f"every page caught up {elapsed:.2f} s after coming back online")  # shown with -s
    for _ctx, page in pages.values():
        expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=1000)
    # Going offline makes the browser log failed requests and sockets; nothing else may appear.
    offline_noise = ("ERR_INTERNET_DISCONNECTED", "WebSocket connection to", "Failed to load resource")
    assert [e for e in console.errors if not any(n in e for n in offline_noise)] == []


# Records, without changing anything, when socket.io-client's Manager schedules, makes and fails
# its retries (performance.now() times): it is wrapped as the vendored library defines it.
WATCH_RETRIES = """(() => {
  const seen = window.__retries = {scheduled: [], made: [], failed: []};
  let lib;
  Object.defineProperty(window, 'io', {configurable: true, get: () => lib, set(value) {
    lib = value;
    const reconnect = value.Manager.prototype.reconnect;
    value.Manager.prototype.reconnect = function (...args) {
      if (!this.__watched) {
        this.__watched = true;
        const duration = this.backoff.duration;
        this.backoff.duration = function () {
          const delay = duration.call(this);
          seen.scheduled.push({at: performance.now(), due: performance.now() + delay});
          return delay;
        };
        this.on('reconnect_attempt', () => seen.made.push(performance.now()));
        this.on('reconnect_error', () => seen.failed.push(performance.now()));
      }
      return reconnect.apply(this, args);
    };
  }});
})()"""

# A retry has failed and the next is due at least this far off (socket.io-client's delays:
# 1, 2, 4, 8 s, each ±50 %, at most 10 s): being connected within CAUGHT_UP_SECONDS is then
# the page's doing, not the retry's.
RETRY_FAR_OFF_MS = (CAUGHT_UP_SECONDS + 0.5) * 1000


def test_a_tab_shown_again_reconnects_at_once(server, contexts, console, proxies):
    """A hidden tab's page, cut off from its server, shown again as the network comes back just
    after a failed retry, the next one being still far off: connected within 2 s, before that
    retry was due and without it. The network is a proxy that refuses connections, so the
    browser's own online/offline events play no part."""
    ev = requests.post(server.url + "/api/events", json={"title": "Tabs"},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5).json()
    proxy = proxies(server.port)
    via = f"http://127.0.0.1:{proxy.port}"
    ctx = contexts(viewport={"width": 390, "height": 844})
    ctx.add_init_script(WATCH_RETRIES)
    phone = console.watch(ctx.new_page(), "participant")
    phone.goto(via + f"/e/{ev['code']}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    # Headless pages are never hidden: the page is told it is, as a switch of tabs would.
    phone.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => window.__shown});
        window.__shown = 'hidden';
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    proxy.cut()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    # Every retry made has failed, and the one now pending is far off.
    phone.wait_for_function("""(farOff) => {
        const r = window.__retries;
        const pending = r.scheduled.length > r.made.length ? r.scheduled.at(-1) : null;
        return r.made.length > 0 && r.failed.length === r.made.length
            && pending !== null && pending.due - performance.now() >= farOff;
    }""", arg=RETRY_FAR_OFF_MS, polling=50, timeout=20_000)
    proxy.resume()
    shown = time.monotonic()
    before = phone.evaluate("""() => {
        const r = window.__retries;
        const dueIn = r.scheduled.at(-1).due - performance.now();
        window.__shown = 'visible';
        document.dispatchEvent(new Event('visibilitychange'));
        return {dueIn, made: r.made.length, failed: r.failed.length};
    }""")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected", timeout=CAUGHT_UP_SECONDS * 1000)
    elapsed = time.monotonic() - shown
    assert elapsed < CAUGHT_UP_SECONDS
    assert elapsed * 1000 < before["dueIn"], f"connected after {elapsed:.2f} s, retry due in {before['dueIn']:.0f} ms"
    assert phone.evaluate("() => window.__retries.made.length") == before["made"], "connected by a retry"
    print(f"connected {elapsed:.2f} s after the tab was shown, after {before['failed']} failed retries; "
          f"the next was due in {before['dueIn'] / 1000:.2f} s")  # shown with -s
    # The cut makes the browser log failed sockets and requests; nothing else may appear.
    noise = ("WebSocket connection to", "Failed to load resource", "ERR_")
    assert [e for e in console.errors if not any(n in e for n in noise)] == []
