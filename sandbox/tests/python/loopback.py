"""What the simple-salesforce scripts share: a requests session that reaches the Salesforce
simulator, and a check of the errors it answers.

simple-salesforce always speaks https, to `<domain>.salesforce.com` for the token and to the
instance for the REST API; the simulator serves plain http on loopback. `Loopback` stands in
for DNS and TLS, and nothing else: every request reaches the simulator as simple-salesforce
built it (method, path, query, headers, body), with http for https and the simulator's address
for the host.
"""
from urllib.parse import urlsplit, urlunsplit

import requests


class Loopback(requests.Session):
    """Sends every request to the simulator over plain http, path and query untouched."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.netloc = urlsplit(base_url).netloc

    def request(self, method, url, *args, **kwargs):  # noqa: D401 - requests' signature
        parts = urlsplit(url)
        url = urlunsplit(("http", self.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


def expect_error(call, exception, status: int, code: str) -> dict:
    try:
        call()
    except exception as e:
        assert e.status == status, (e.status, e.content)
        assert e.content[0]["errorCode"] == code, e.content
        return e.content[0]
    raise AssertionError(f"expected {exception.__name__} {code}")
