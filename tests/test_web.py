"""The phone page's server on its own (live/web.py): what it serves, and what it refuses —
on localhost without a token, on a network address with one — judged over real sockets."""

import http.client
import json
import socket
import time

import pytest

from jazzd.live.stage import Stage
from jazzd.live.web import MAX_BODY, Page, WebError, check_request, page_link, read_token, write_token
from jazzd.measure.rig import free_port

TOKEN = "t" * 32


@pytest.fixture
def served(request):
    """A page on a free port: localhost (no token), or every address (`request.param`: token)."""
    stage = Stage(setlist=[object(), object()])
    address, token = ("0.0.0.0", TOKEN) if getattr(request, "param", None) else ("127.0.0.1", None)
    page = Page(stage, address, free_port(), token)
    page.start()
    yield page, stage
    page.stop()


def ask(page, method, path, body=None, headers=None, host=None):
    connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=5)
    headers = {"Host": host or f"127.0.0.1:{page.port}", **(headers or {})}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data, response


def post(page, kind, value, **extra):
    origin = f"http://127.0.0.1:{page.port}"
    headers = {"Content-Type": "application/json", "Origin": origin, **extra.pop("headers", {})}
    return ask(page, "POST", f"/api/{kind}", json.dumps({"value": value}), headers, **extra)


def test_the_page_and_its_files_are_served_on_localhost(served):
    page, _ = served
    status, html, response = ask(page, "GET", "/")
    assert status == 200 and b'<script src="/page.js"' in html
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")
    assert ask(page, "GET", "/page.js")[0] == ask(page, "GET", "/page.css")[0] == 200
    assert ask(page, "GET", "/state")[0] == 404  # the state comes only as the page's event stream


def test_a_request_from_the_page_is_queued_as_the_keyboard_s_would_be(served):
    page, stage = served
    assert post(page, "call", 1)[0] == 200 and post(page, "tempo", 152.5)[0] == 200
    taken = [(r.kind, r.value, r.source) for r in stage.take()]
    assert taken == [("call", 1, "page"), ("tempo", 152.5, "page")]


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ({"headers": {"Origin": "http://evil.example"}}, 403),  # another site's script or form
        ({"headers": {"Sec-Fetch-Site": "cross-site"}}, 403),
        ({"headers": {"Content-Type": "text/plain"}}, 415),  # a form cannot send JSON
        ({"host": "evil.example:80"}, 403),  # DNS rebinding: a name that is not this machine
    ],
)
def test_cross_site_and_rebinding_requests_change_nothing(served, how, status):
    page, stage = served
    assert post(page, "panic", 127, **how)[0] == status
    assert stage.take() == []


def test_no_get_changes_anything_and_bad_values_are_refused(served):
    page, stage = served
    assert ask(page, "GET", "/api/panic?value=127")[0] == 405
    assert post(page, "tempo", 1000)[0] == 400 and post(page, "call", 2)[0] == 400  # two tunes: 0 and 1
    assert post(page, "reboot", 1)[0] == 400 and post(page, "mode", "duet")[0] == 400
    origin = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{page.port}"}
    assert ask(page, "POST", "/api/panic", b"{not json", origin)[0] == 400
    assert ask(page, "POST", "/api/panic", b"x" * (MAX_BODY + 1), origin)[0] == 413
    assert stage.take() == []


def test_a_flood_from_one_address_is_slowed_down(served):
    page, _ = served
    statuses = [ask(page, "GET", "/page.css")[0] for _ in range(80)]
    assert statuses.count(429) > 0 and statuses[:30].count(200) == 30  # the burst allowed, then bounded


@pytest.mark.parametrize("served", [True], indirect=True)
def test_on_a_network_address_every_request_without_the_token_is_refused(served):
    page, stage = served
    for method, path in (("GET", "/"), ("GET", "/page.js"), ("GET", "/page.css"), ("GET", "/events")):
        assert ask(page, method, path)[0] == 403
        assert ask(page, method, path + "?token=wrong")[0] == 403
    assert post(page, "panic", 127)[0] == 403 and stage.take() == []
    status, _, response = ask(page, "GET", f"/?token={TOKEN}")  # the link doctor shows
    cookie = response.getheader("Set-Cookie")
    assert status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    kept = {"Cookie": cookie.split(";")[0]}
    assert ask(page, "GET", "/page.css", headers=kept)[0] == 200
    assert post(page, "panic", 127, headers=kept)[0] == 200 and len(stage.take()) == 1


def test_the_event_stream_sends_each_new_state_and_costs_nothing_once_closed(served):
    page, stage = served
    stage.publish({"bar": 0})
    connection = socket.create_connection(("127.0.0.1", page.port), timeout=5)
    connection.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\n\r\n".encode())
    deadline = time.monotonic() + 5
    while not stage.watchers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stage.watchers and [r.kind for r in stage.take()] == ["show"]  # the main thread shows it all
    stage.publish({"bar": 1})
    received = b""
    while b'"bar": 1' not in received and time.monotonic() < deadline:
        received += connection.recv(4096)
    assert b'data: {"bar": 0}' in received and b'data: {"bar": 1}' in received
    connection.close()
    while stage.watchers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stage.watchers == []  # no page open: the main thread publishes nothing


def test_garbage_on_the_socket_leaves_the_server_answering(served):
    page, _ = served
    bad_length = b"POST /api/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"
    for junk in (b"\x00\xff" * 100, b"GET / HTTP/9.9\r\n\r\n", bad_length):
        with socket.create_connection(("127.0.0.1", page.port), timeout=5) as s:
            s.sendall(junk)
            s.recv(1024)
    assert ask(page, "GET", "/")[0] == 200


def test_tokens_links_and_what_a_wrong_setting_says(tmp_path, monkeypatch):
    path = tmp_path / "web-token"
    token = write_token(str(path))
    assert read_token(str(path)) == token and path.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))  # systemd's LoadCredential wins
    assert read_token("/nonexistent") == token
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(WebError, match="jazzd web-token --new"):
        read_token(str(tmp_path / "missing"))
    (tmp_path / "file").write_text("")
    with pytest.raises(WebError, match="cannot write the token"):
        write_token(str(tmp_path / "file" / "web-token"))  # its folder is a file
    assert page_link("127.0.0.1", 8080, None) == "http://127.0.0.1:8080/"
    assert page_link("0.0.0.0", 80, "abc") == f"http://{socket.gethostname()}.local:80/?token=abc"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(WebError, match=r"\[web\] cannot listen on 127.0.0.1:\d+"):
            Page(Stage(), "127.0.0.1", taken.getsockname()[1], None).start()
    assert check_request("start_stop", True, 0) is not None and check_request("step", -1, 0) is None


def test_a_page_left_open_does_not_hold_up_the_stop():
    page = Page(Stage(), "127.0.0.1", free_port(), None)
    page.start()
    stream = socket.create_connection(("127.0.0.1", page.port), timeout=5)
    stream.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\n\r\n".encode())
    stream.recv(1024)
    began = time.monotonic()
    page.stop()
    assert time.monotonic() - began < 1.0 and not page._thread.is_alive()
    stream.close()
