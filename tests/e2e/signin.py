"""A browser's part in signing in: requests sessions that follow the
gateway to the stack's OpenID provider, submit its login form as a tester
would (picking a test person) and come back with the session cookie."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

PERSON_RE = re.compile(r'<input type="radio" name="sub" value="([0-9a-f]{64})"[^>]*>\s*(.*?)</label>', re.S)
FORM_RE = re.compile(r'<form method="post" action="([^"]+)"')
SESSION_COOKIE = "mdv_session"


@dataclass
class Person:
    sub: str
    label: str


class Browser:
    """One browser: its own cookie jar, redirects followed by hand so that
    each hop can be looked at."""

    def __init__(self, gateway_url: str):
        self.gateway_url = gateway_url
        self.http = requests.Session()
        self.last_callback: requests.Response | None = None

    def get(self, url: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 30)
        kw.setdefault("allow_redirects", False)
        return self.http.get(urljoin(self.gateway_url, url), **kw)

    def follow(self, resp: requests.Response, stop_at_gateway: bool = True) -> requests.Response:
        """Follows redirects up to the first answer of the gateway that is
        not a redirect to the provider (the callback's own answer is kept in
        last_callback)."""
        for _ in range(10):
            if resp.status_code not in (301, 302, 303, 307, 308):
                return resp
            target = urljoin(resp.url, resp.headers["Location"])
            if stop_at_gateway and target.startswith(self.gateway_url) and "/auth/callback" not in target:
                return resp
            resp = self.http.get(target, allow_redirects=False, timeout=30)
            if "/auth/callback" in resp.url:
                self.last_callback = resp
        raise AssertionError("too many redirects")

    def open_login(self, return_to: str | None = "/") -> requests.Response:
        """GET /auth/login, then the provider's pages up to its login form."""
        params = {} if return_to is None else {"return_to": return_to}
        resp = self.get("/auth/login", params=params)
        assert resp.status_code == 302, f"/auth/login: {resp.status_code} {resp.text[:300]}"
        return self.follow(resp)

    @staticmethod
    def persons(page: requests.Response) -> list[Person]:
        return [Person(sub, html.unescape(re.sub(r"\s+", " ", label)).strip())
                for sub, label in PERSON_RE.findall(page.text)]

    def callback_url(self, page: requests.Response, sub: str, fault: str = "") -> str:
        """Posts the provider's login form and follows the provider's
        redirects; returns the gateway callback URL it sends the browser to
        (not fetched)."""
        action = FORM_RE.search(page.text)
        assert action, f"no login form on {page.url}: {page.text[:300]}"
        resp = self.http.post(urljoin(page.url, html.unescape(action.group(1))),
                              data={"sub": sub, "fault": fault}, allow_redirects=False, timeout=30)
        for _ in range(10):
            assert resp.status_code in (302, 303), f"{resp.url}: {resp.status_code} {resp.text[:300]}"
            target = urljoin(resp.url, resp.headers["Location"])
            if target.startswith(self.gateway_url + "/auth/callback"):
                return target
            resp = self.http.get(target, allow_redirects=False, timeout=30)
        raise AssertionError("the provider did not send the browser back to the gateway")

    def submit(self, page: requests.Response, sub: str, fault: str = "") -> requests.Response:
        """Posts the provider's login form; returns the gateway callback's answer."""
        self.last_callback = self.get(self.callback_url(page, sub, fault))
        return self.last_callback

    def person(self, page: requests.Response, who: str) -> Person:
        person = next((p for p in self.persons(page) if who in p.label), None)
        assert person, f"no test person like {who!r} on the provider's page"
        return person

    def sign_in(self, who: str, return_to: str = "/", fault: str = "") -> requests.Response:
        """Signs in as the first test person whose label holds who."""
        page = self.open_login(return_to)
        return self.submit(page, self.person(page, who).sub, fault)

    def cookie(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)

    def me(self) -> requests.Response:
        return self.get("/v1/me")

    def csrf(self) -> str:
        resp = self.me()
        assert resp.status_code == 200, resp.text
        return resp.json()["csrf_token"]

    def api(self, method: str, path: str, csrf: bool = True, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if csrf and method not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF-Token", self.csrf())
        kw.setdefault("timeout", 30)
        return self.http.request(method, urljoin(self.gateway_url, path), headers=headers,
                                 allow_redirects=False, **kw)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
