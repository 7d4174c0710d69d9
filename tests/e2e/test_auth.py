"""Authentication and authorisation at the gateway: no valid token, no
access; another usager's journey does not exist for you."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mdv_e2e import assert_problem, bereavement_declaration, unknown_person

# --------------------------------------------------------------------------
# Crafting tokens: a real mdv-token token is decoded, changed, and signed
# again with the stack's private key (or another key), so that every
# crafted token differs from a valid one by exactly one thing.


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def sign_text(header: str, claims: str, key: Any) -> str:
    """A compact JWS of exactly these texts (duplicate members included),
    signed with SHA-256 by key: an EC or RSA private key, or bytes for
    HS256."""
    signing_input = b64url(header.encode()) + "." + b64url(claims.encode())
    data = signing_input.encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, bytes):
        signature = hmac.new(key, data, hashlib.sha256).digest()
    else:
        raise TypeError(f"unsupported key {type(key).__name__}")
    return signing_input + "." + b64url(signature)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def sign_jwt(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    return sign_text(compact(header), compact(claims), key)


def another_key_like(key: Any) -> Any:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ec.generate_private_key(key.curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def stack_key(env):
    path = env.process_env.get("MDV_JWT_PRIVATE_KEY_FILE")
    if not path or not os.path.exists(path):
        pytest.fail("MDV_JWT_PRIVATE_KEY_FILE is not set or missing in the stack env file")
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


@pytest.fixture
def stack_public_pem(env) -> bytes:
    path = env.process_env.get("MDV_JWT_PUBLIC_KEY_FILE")
    if not path or not os.path.exists(path):
        pytest.fail("MDV_JWT_PUBLIC_KEY_FILE is not set or missing in the stack env file")
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def genuine(usager) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token minted by mdv-token."""
    header, claims = decode_jwt(usager.token)
    for claim in ("iss", "aud", "sub", "exp"):
        assert claim in claims, f"mdv-token issued a token without {claim!r}: {claims}"
    assert claims["sub"] == usager.sub
    return header, claims


def get_journeys(env, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(env.gateway_url + "/v1/journeys", headers=headers, timeout=30)


def assert_unauthorized(resp: requests.Response) -> None:
    assert_problem(resp, 401)
    # RFC 9110 §15.5.2: a 401 names the scheme to use.
    challenge = resp.headers.get("WWW-Authenticate", "")
    assert challenge.split(" ")[0].lower() == "bearer", resp.headers


# --------------------------------------------------------------------------


def test_no_token_is_401_problem(env):
    assert_unauthorized(get_journeys(env, None))
    resp = requests.post(env.gateway_url + "/v1/declarations",
                         json=bereavement_declaration(unknown_person(), "child"), timeout=30)
    assert_unauthorized(resp)
    assert_unauthorized(requests.get(f"{env.gateway_url}/v1/journeys/{uuid.uuid4()}", timeout=30))


@pytest.mark.parametrize("authorization", [
    "Bearer garbage",
    "Bearer ",
    "Bearer a.b.c",
    "Basic dXNhZ2VyOnNlY3JldA==",
    "garbage",
])
def test_garbage_token_is_401(env, authorization):
    assert_unauthorized(get_journeys(env, authorization))


def test_resigned_genuine_token_is_accepted(env, genuine, stack_key):
    """Control for the crafted tokens below: re-signing changes nothing."""
    header, claims = genuine
    resp = get_journeys(env, "Bearer " + sign_jwt(header, claims, stack_key))
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("change", [
    "expired", "wrong_audience", "wrong_issuer", "no_subject", "not_yet_valid",
])
def test_token_with_bad_claims_is_401(env, genuine, stack_key, change):
    header, claims = genuine
    claims = dict(claims)
    now = int(time.time())
    if change == "expired":
        claims["iat"] = now - 7200
        claims["exp"] = now - 3600
    elif change == "wrong_audience":
        claims["aud"] = "not-" + (claims["aud"] if isinstance(claims["aud"], str) else "mdv")
    elif change == "wrong_issuer":
        claims["iss"] = "https://issuer.invalid"
    elif change == "no_subject":
        del claims["sub"]
    elif change == "not_yet_valid":
        claims["nbf"] = now + 3600
        claims["iat"] = now + 3600
        claims["exp"] = now + 7200
    assert_unauthorized(get_journeys(env, "Bearer " + sign_jwt(header, claims, stack_key)))


@pytest.mark.parametrize("flag,value", [("--ttl", "-120"), ("--audience", "not-mdv"), ("--issuer", "not-mdv-local")])
def test_tokens_minted_by_mdv_token_with_bad_claims_are_401(env, flag, value):
    """The same cases through the tool's own flags, where it has them."""
    help_text = subprocess.run([env.tool("mdv-token"), "--help"], env=env.process_env,
                               capture_output=True, text=True, timeout=30)
    if flag not in help_text.stdout + help_text.stderr:
        pytest.skip(f"mdv-token has no {flag}")
    token = env.run_tool(env.tool("mdv-token"), "--sub", f"usager-{uuid.uuid4()}", flag, value).split()[-1]
    assert_unauthorized(get_journeys(env, "Bearer " + token))


def test_token_signed_by_another_key_is_401(env, genuine, stack_key):
    header, claims = genuine
    forged = sign_jwt(header, claims, another_key_like(stack_key))
    assert_unauthorized(get_journeys(env, "Bearer " + forged))


def test_tampered_token_is_401(env, genuine, usager):
    header, claims = genuine
    _, _, signature = usager.token.split(".")
    claims = dict(claims, sub="usager-someone-else")
    tampered = ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), signature])
    assert_unauthorized(get_journeys(env, "Bearer " + tampered))


def test_unsigned_token_is_401(env, genuine):
    header, claims = genuine
    unsigned = b64url(json.dumps(dict(header, alg="none")).encode()) + "." + b64url(json.dumps(claims).encode()) + "."
    assert_unauthorized(get_journeys(env, "Bearer " + unsigned))


# --------------------------------------------------------------------------
# The attack matrix: every token an attacker can make without the stack's
# private key, or with it but with a claim that must not pass. Each one is
# a 401 problem with WWW-Authenticate: Bearer.

YEAR = 365 * 24 * 3600
DELETE = object()  # as a claim's new value: the claim is removed


class Forge:
    """Builds Authorization values from a genuine token's header and claims."""

    def __init__(self, token: str, header: dict[str, Any], claims: dict[str, Any],
                 key: Any, public_pem: bytes) -> None:
        self.token, self.header, self.claims = token, header, claims
        self.key, self.public_pem = key, public_pem
        self.now = int(time.time())

    def claims_with(self, **changes: Any) -> dict[str, Any]:
        claims = dict(self.claims, **changes)
        return {k: v for k, v in claims.items() if v is not DELETE}

    def signed(self, header: dict[str, Any] | None = None, key: Any = None, **changes: Any) -> str:
        return "Bearer " + sign_jwt(header or self.header, self.claims_with(**changes), key or self.key)

    def not_valid_for_a_year(self, nbf: Any) -> str:
        return self.signed(nbf=nbf, exp=self.now + YEAR + 86400)


def _alg_none(f: Forge) -> str:
    header = b64url(compact(dict(f.header, alg="none")).encode())
    return "Bearer " + header + "." + b64url(compact(f.claims).encode()) + "."


def _attackers_jwk(f: Forge) -> str:
    attacker = ec.generate_private_key(ec.SECP256R1())
    numbers = attacker.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256",
           "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}
    return f.signed(dict(f.header, jwk=jwk), attacker)


def _duplicate_claim(f: Forge) -> str:
    claims = compact(f.claims)[:-1] + ',"sub":"usager-someone-else"}'
    return "Bearer " + sign_text(compact(f.header), claims, f.key)


ATTACKS = {
    "alg_none": _alg_none,
    "hs256_keyed_with_the_public_key_pem": lambda f: "Bearer " + sign_jwt(
        dict(f.header, alg="HS256"), f.claims, f.public_pem),
    "attackers_own_key": lambda f: f.signed(key=another_key_like(f.key)),
    "attackers_key_named_by_jku": lambda f: f.signed(
        dict(f.header, jku="https://attacker.invalid/jwks.json", kid="attacker"), another_key_like(f.key)),
    "attackers_key_named_by_x5u": lambda f: f.signed(
        dict(f.header, x5u="https://attacker.invalid/cert.pem"), another_key_like(f.key)),
    "attackers_key_embedded_as_jwk": _attackers_jwk,
    "rs256_by_an_rsa_key": lambda f: f.signed(
        dict(f.header, alg="RS256"), rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "alg_in_lower_case": lambda f: f.signed(dict(f.header, alg=f.header["alg"].lower())),
    "crit_extension": lambda f: f.signed(dict(f.header, crit=["exp"])),
    "expired": lambda f: f.signed(iat=f.now - 7200, exp=f.now - 3600),
    "exp_a_string": lambda f: f.signed(exp=str(f.now + 600)),
    "exp_missing": lambda f: f.signed(exp=DELETE),
    "nbf_in_a_year_integer": lambda f: f.not_valid_for_a_year(f.now + YEAR),
    "nbf_in_a_year_fraction": lambda f: f.not_valid_for_a_year(f.now + YEAR + 0.5),
    "nbf_in_a_year_string": lambda f: f.not_valid_for_a_year(str(f.now + YEAR)),
    "iat_in_a_year": lambda f: f.signed(iat=f.now + YEAR, exp=f.now + YEAR + 86400),
    "wrong_issuer": lambda f: f.signed(iss="https://issuer.invalid"),
    "wrong_audience": lambda f: f.signed(aud="not-" + str(f.claims["aud"])),
    "sub_missing": lambda f: f.signed(sub=DELETE),
    "sub_empty": lambda f: f.signed(sub=""),
    "sub_10_kb": lambda f: f.signed(sub="u" * 10 * 1024),
    "sub_not_a_string": lambda f: f.signed(sub=42),
    "duplicate_claim": _duplicate_claim,
    "second_dot_part_appended": lambda f: "Bearer " + f.token + "." + f.token.split(".")[1],
    "trailing_dot": lambda f: "Bearer " + f.token + ".",
    "trailing_garbage": lambda f: "Bearer " + f.token + " garbage",
    "garbage": lambda f: "Bearer garbage",
}

# A token of about 100 KB once encoded (base64url makes 4 bytes of 3): it
# fits the gateway's header limit (README, "HTTP limits"), so the gateway
# itself refuses it, for its length, with a 401.
ATTACKS["token_100_kb"] = lambda f: f.signed(pad="x" * (100 * 1024 * 3 // 4))


@pytest.fixture
def forge(usager, genuine, stack_key, stack_public_pem) -> Forge:
    header, claims = genuine
    return Forge(usager.token, header, claims, stack_key, stack_public_pem)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_matrix_is_401(env, forge, attack):
    authorization = ATTACKS[attack](forge)
    assert_unauthorized(get_journeys(env, authorization))


def test_lenient_but_valid_forms_are_accepted(env, forge):
    """Controls for the matrix: what RFC 7519 and RFC 6750 allow passes."""
    accepted = {
        "fractional_dates": forge.signed(iat=forge.now - 0.5, nbf=forge.now - 1.25, exp=forge.now + 600.5),
        "several_spaces": "Bearer    " + forge.token,
        "scheme_in_lower_case": "bearer " + forge.token,
        "kid_ignored": forge.signed(dict(forge.header, kid="any")),
    }
    for name, authorization in accepted.items():
        resp = get_journeys(env, authorization)
        assert resp.status_code == 200, f"{name}: {resp.status_code} {resp.text[:300]}"


def test_another_usagers_journey_is_404_not_403(usager, make_usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    intruder = make_usager()

    resp = intruder.get_journey(journey_id)
    assert_problem(resp, 404)
    assert journey_id not in [j["id"] for j in intruder.all_journeys(limit=10)]
    # The owner still sees it.
    assert usager.get_journey(journey_id).status_code == 200


def test_unknown_journey_is_404(usager):
    assert_problem(usager.get_journey(str(uuid.uuid4())), 404)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "12345", "00000000-0000-0000-0000-00000000000g", "x" * 300])
def test_malformed_journey_id_is_404_or_400(usager, bad_id):
    resp = usager.get_journey(bad_id)
    assert resp.status_code in (400, 404), f"{resp.status_code} {resp.text[:300]}"
    assert_problem(resp, resp.status_code)
