"""The usager's page as files: index.html and static/ of the web folder
(make web: the page's sources and the pinned DSFR), their content types,
caching and security headers, and no path that leaves the folder."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from pathlib import Path

import pytest
import requests

from mdv_e2e import REPO_ROOT, StackEnv

WEB_SOURCES = REPO_ROOT / "services" / "gateway" / "web"


@pytest.fixture(scope="module")
def web_dir(env: StackEnv) -> Path:
    """The folder the stack's gateway serves (stack.sh: beside the binaries)."""
    return env.bin_dir.parent / "web"


def raw_get(env: StackEnv, target: str) -> tuple[int, dict[str, str], bytes]:
    """GET with the target sent byte for byte (no client normalising dots)."""
    url = urllib.parse.urlsplit(env.gateway_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def test_front_door_is_the_page_in_french_with_a_strict_policy(env: StackEnv) -> None:
    resp = requests.get(env.gateway_url + "/", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.content == (WEB_SOURCES / "index.html").read_bytes()
    assert '<html lang="fr"' in resp.text
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    csp = csp_directives(resp.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src", "font-src"):
        assert csp[directive] == ["'self'"], f"{directive}: {csp[directive]}"
    assert csp["frame-ancestors"] == ["'none'"]
    # Forms post to the gateway; the sign-out's answer goes on to the provider.
    issuer = urllib.parse.urlsplit(env.process_env["MDV_OIDC_URL"])
    assert csp["form-action"] == ["'self'", f"{issuer.scheme}://{issuer.netloc}"]
    assert csp["base-uri"] == ["'none'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)


def test_page_scripts_and_styles_are_files_the_policy_allows(env: StackEnv) -> None:
    """Every script and stylesheet the page names is one of its files (no
    inline code the policy would block), served with its type."""
    html = (WEB_SOURCES / "index.html").read_text()
    assert "<style" not in html and " style=" not in html and " on" not in html.replace("\n", " ").split("<body")[0]
    for ref in ("/static/dsfr/dsfr.min.css", "/static/dsfr/dsfr.module.min.js", "/static/app.js",
                "/static/app.css"):
        assert f'"{ref}"' in html
    expected = {
        "/static/app.js": ("text/javascript; charset=utf-8", "no-cache"),
        "/static/app.css": ("text/css; charset=utf-8", "no-cache"),
        "/static/dsfr/dsfr.min.css": ("text/css; charset=utf-8", "public, max-age=86400"),
        "/static/dsfr/dsfr.module.min.js": ("text/javascript; charset=utf-8", "public, max-age=86400"),
        "/static/dsfr/favicon/favicon.svg": ("image/svg+xml", "public, max-age=86400"),
        "/static/dsfr/fonts/Marianne-Regular.woff2": ("font/woff2", "public, max-age=86400"),
    }
    for path, (ctype, cache) in expected.items():
        resp = requests.get(env.gateway_url + path, timeout=10)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Type"] == ctype, path
        assert resp.headers["Cache-Control"] == cache, path
        assert "Content-Security-Policy" in resp.headers, path


def test_dsfr_served_is_the_pinned_package(env: StackEnv, web_dir: Path) -> None:
    lock = json.loads((WEB_SOURCES / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@gouvfr/dsfr"]["version"]
    resp = requests.get(env.gateway_url + "/static/dsfr/dsfr.min.css", timeout=10)
    assert resp.content == (web_dir / "static" / "dsfr" / "dsfr.min.css").read_bytes()
    assert f"v{pinned}" in resp.text[:400], resp.text[:400]


TRAVERSALS = [
    "/static/../index.html",
    "/static/dsfr/../../index.html",
    "/static/%2e%2e/index.html",
    "/static/.%2e/index.html",
    "/static/%2E%2E%2Findex.html",
    "/static/dsfr/..%2F..%2Findex.html",
    "/static/..%5cindex.html",
    "/static//etc/passwd",
    "/static/%2Fetc%2Fpasswd",
    "/static/.built",
    "/static/../.built",
    "/static/app.js%00.css",
    "/static/dsfr/",
    "/static/dsfr",
    "/static/",
    "/static/dsfr/dsfr.min.css/",
    "/static/dsfr/README.md",
    "/static/app.js?x=../../index.html",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_path_leaves_the_web_folder_or_names_a_hidden_file(env: StackEnv, target: str) -> None:
    status, headers, body = raw_get(env, target)
    if target.startswith("/static/app.js?"):
        # The query is no part of the path: still app.js.
        assert status == 200 and body == (WEB_SOURCES / "static" / "app.js").read_bytes()
        return
    assert status == 404, f"{target}: {status} {body[:200]!r}"
    assert headers["content-type"] == "application/problem+json"
    assert b"<html" not in body and b"root:" not in body


def test_a_symbolic_link_in_the_web_folder_is_not_followed(env: StackEnv, web_dir: Path) -> None:
    link = web_dir / "static" / "lien-e2e.css"
    link.unlink(missing_ok=True)
    os.symlink(web_dir / "index.html", link)
    try:
        status, _, body = raw_get(env, "/static/lien-e2e.css")
        assert status == 404, body[:200]
    finally:
        link.unlink()


def test_the_page_answers_get_only(env: StackEnv) -> None:
    resp = requests.post(env.gateway_url + "/", timeout=10)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"
    resp = requests.put(env.gateway_url + "/static/app.js", timeout=10)
    assert resp.status_code == 405
