"""R1: mutated signed requests. Each attempt takes a correctly signed request (SigV4 header, SigV4
presigned, SigV2; long-term keys and session tokens) and breaks one thing an attacker could change
without knowing the secret, or signs with something that must not work. None may be accepted (200),
and none may crash the server (5xx)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from unittest import mock
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest

from tests.reliability.harness import (
    API_VERSIONS,
    HOST,
    REGION,
    InProcessCloud,
    Key,
    Result,
    body_of,
    xml_value,
)

URL = f"http://{HOST}/"
CALLS = [("sts", {"Action": "GetCallerIdentity"}), ("iam", {"Action": "GetUser"}),
         ("iam", {"Action": "CreateUser", "UserName": "r1-forged"}),
         ("ec2", {"Action": "DescribeAvailabilityZones"})]


@dataclass
class Raw:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _sign_v4(service: str, params: dict[str, str], key: Key, when: datetime.datetime | None = None,
             extra_headers: dict[str, str] | None = None, region: str = REGION) -> Raw:
    req = AWSRequest(method="POST", url=URL, data=urlencode(params),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                              **(extra_headers or {})})
    with mock.patch("botocore.auth.get_current_datetime", return_value=when or _now()):
        SigV4Auth(key.credentials(), service, region).add_auth(req)
    return Raw("POST", URL, list(req.headers.items()), body_of(req))


def _presign(service: str, params: dict[str, str], key: Key, expires: int,
             when: datetime.datetime | None = None) -> Raw:
    req = AWSRequest(method="GET", url=URL + "?" + urlencode(params))
    with mock.patch("botocore.auth.get_current_datetime", return_value=when or _now()):
        SigV4QueryAuth(key.credentials(), service, REGION, expires=expires).add_auth(req)
    return Raw("GET", req.url, [(k, v) for k, v in req.headers.items()], b"")


def _sign_v2(params: dict[str, str], key: Key, when: datetime.datetime | None = None) -> Raw:
    req = AWSRequest(method="POST", url=URL, data=dict(params))
    stamp = (when or _now()).replace(tzinfo=datetime.UTC).timestamp()
    real_gmtime = time.gmtime
    with mock.patch("botocore.auth.time.gmtime", lambda *a: real_gmtime(stamp)):
        SigV2Auth(key.credentials()).add_auth(req)
    return Raw("POST", URL, [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
               urlencode(req.data).encode())


def _set_header(raw: Raw, name: str, value: str) -> Raw:
    headers = [(k, v) for k, v in raw.headers if k.lower() != name.lower()] + [(name, value)]
    return Raw(raw.method, raw.url, headers, raw.body)


def _header(raw: Raw, name: str) -> str:
    return next(v for k, v in raw.headers if k.lower() == name.lower())


def _mutate_char(rng: random.Random, text: str, alphabet: str) -> str:
    i = rng.randrange(len(text))
    choices = [c for c in alphabet if c != text[i]]
    return text[:i] + rng.choice(choices) + text[i + 1:]


HEX = "0123456789abcdef"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SECRET_CHARS = B64URL + "+/"


class Mutations:
    """Named mutations; each returns a request that must be refused."""

    def __init__(self, cloud: InProcessCloud, rng: random.Random) -> None:
        self.cloud = cloud
        self.rng = rng
        c = cloud
        # Identities to forge with: the cloud admin (AKIA), a user session (GetSessionToken), role sessions.
        _, self.account_id, self.acct_admin = c.new_account("r1")
        self.session = self._session(self.acct_admin)
        self.other_session = self._session(self.acct_admin)
        self.role_session = self._role_session()
        self.keys: list[Key] = [c.admin, self.acct_admin, self.session, self.role_session]
        self.sessions = [self.session, self.other_session, self.role_session]
        # A key that no longer works (inactive) and a session of a deleted user.
        self.inactive, self.deleted_user_session = self._dead_credentials()
        self.all: dict[str, Callable[[], Raw]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("mu_")}

    # -- set-up ---------------------------------------------------------------------------------------------
    def _session(self, key: Key) -> Key:
        text = self.cloud.ok("sts", "GetSessionToken", key, DurationSeconds="3600")
        return Key(xml_value(text, "AccessKeyId"), xml_value(text, "SecretAccessKey"), xml_value(text, "SessionToken"))

    def _role_session(self) -> Key:
        trust = (f'{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{self.account_id}:root"}},'
                 '"Action":"sts:AssumeRole"}]}')
        arn = xml_value(self.cloud.ok("iam", "CreateRole", self.acct_admin, RoleName="r1-role",
                                      AssumeRolePolicyDocument=trust), "Arn")
        self.cloud.ok("iam", "PutRolePolicy", self.acct_admin, RoleName="r1-role", PolicyName="all",
                      PolicyDocument='{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
        text = self.cloud.ok("sts", "AssumeRole", self.acct_admin, RoleArn=arn, RoleSessionName="r1")
        return Key(xml_value(text, "AccessKeyId"), xml_value(text, "SecretAccessKey"), xml_value(text, "SessionToken"))

    def _dead_credentials(self) -> tuple[Key, Key]:
        c, admin = self.cloud, self.acct_admin
        c.ok("iam", "CreateUser", admin, UserName="r1-inactive")
        text = c.ok("iam", "CreateAccessKey", admin, UserName="r1-inactive")
        inactive = Key(xml_value(text, "AccessKeyId"), xml_value(text, "SecretAccessKey"))
        c.ok("iam", "UpdateAccessKey", admin, UserName="r1-inactive", AccessKeyId=inactive.access_key_id,
             Status="Inactive")
        c.ok("iam", "CreateUser", admin, UserName="r1-deleted")
        c.ok("iam", "PutUserPolicy", admin, UserName="r1-deleted", PolicyName="all",
             PolicyDocument='{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
        text = c.ok("iam", "CreateAccessKey", admin, UserName="r1-deleted")
        doomed = Key(xml_value(text, "AccessKeyId"), xml_value(text, "SecretAccessKey"))
        session = self._session(doomed)
        c.ok("iam", "DeleteAccessKey", admin, UserName="r1-deleted", AccessKeyId=doomed.access_key_id)
        c.ok("iam", "DeleteUserPolicy", admin, UserName="r1-deleted", PolicyName="all")
        c.ok("iam", "DeleteUser", admin, UserName="r1-deleted")
        return inactive, session

    def controls(self) -> list[Raw]:
        """Unmutated requests, which must succeed (or the mutations prove nothing)."""
        out = []
        for key in self.keys:
            for service, params in CALLS:
                if params["Action"] not in ("CreateUser", "GetUser"):
                    out.append(_sign_v4(service, self._params(service, params), key))
        out.append(_presign("sts", self._params("sts", CALLS[0][1]), self.session, 300))
        out.append(_sign_v2(self._params("ec2", CALLS[3][1]), self.acct_admin))
        return out

    # -- helpers --------------------------------------------------------------------------------------------
    def _params(self, service: str, params: dict[str, str]) -> dict[str, str]:
        return {**params, "Version": API_VERSIONS[service]}

    def _pick(self) -> tuple[str, dict[str, str]]:
        service, params = self.rng.choice(CALLS)
        if params["Action"] == "CreateUser":
            params = {**params, "UserName": f"r1-forged-{self.rng.randrange(10**9)}"}
        return service, self._params(service, params)

    def _base(self, key: Key | None = None, **kw: object) -> Raw:
        service, params = self._pick()
        return _sign_v4(service, params, key or self.rng.choice(self.keys), **kw)  # type: ignore[arg-type]

    def _auth_fields(self, raw: Raw) -> tuple[str, dict[str, str]]:
        auth = _header(raw, "Authorization")
        algo, _, rest = auth.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        return algo, fields

    def _with_auth(self, raw: Raw, algo: str, fields: dict[str, str]) -> Raw:
        text = algo + " " + ", ".join(f"{k}={v}" for k, v in fields.items())
        return _set_header(raw, "Authorization", text)

    def _skew(self) -> datetime.timedelta:
        skew = self.cloud.cloud.settings.clock_skew
        # At least 5 s beyond the window: X-Amz-Date has whole seconds, and the request takes time to arrive.
        return datetime.timedelta(seconds=skew + self.rng.choice([5, 30, 60, 3600, 86400, 10**7]))

    # -- signature ------------------------------------------------------------------------------------------
    def mu_signature_flipped(self) -> Raw:
        raw = self._base()
        algo, f = self._auth_fields(raw)
        f["Signature"] = _mutate_char(self.rng, f["Signature"], HEX)
        return self._with_auth(raw, algo, f)

    def mu_signature_truncated(self) -> Raw:
        raw = self._base()
        algo, f = self._auth_fields(raw)
        f["Signature"] = f["Signature"][: self.rng.randrange(len(f["Signature"]))]
        return self._with_auth(raw, algo, f)

    def mu_signature_uppercase_or_padded(self) -> Raw:
        raw = self._base()
        algo, f = self._auth_fields(raw)
        f["Signature"] = self.rng.choice([f["Signature"].upper(), f["Signature"] + "0", " " + f["Signature"] + "x"])
        return self._with_auth(raw, algo, f)

    def mu_wrong_secret(self) -> Raw:
        key = self.rng.choice(self.keys)
        bad = Key(key.access_key_id, _mutate_char(self.rng, key.secret_access_key, SECRET_CHARS), key.session_token)
        return self._base(bad)

    def mu_other_key_id(self) -> Raw:
        raw = self._base(self.rng.choice([self.cloud.admin, self.acct_admin]))
        algo, f = self._auth_fields(raw)
        victim = self.rng.choice([k for k in self.keys if k.session_token is None
                                  and k.access_key_id not in f["Credential"]])
        f["Credential"] = victim.access_key_id + f["Credential"][f["Credential"].index("/"):]
        return self._with_auth(raw, algo, f)

    def mu_scope_changed(self) -> Raw:
        raw = self._base()
        algo, f = self._auth_fields(raw)
        akid, date, region, service, term = f["Credential"].split("/")
        which = self.rng.randrange(3)
        if which == 0:
            date = (datetime.date.today() - datetime.timedelta(days=self.rng.choice([1, 2, 30]))).strftime("%Y%m%d")
        elif which == 1:
            region = self.rng.choice(["us-east-1", "eu-west-1", "eucalite-2"])
        else:
            service = self.rng.choice([s for s in ("iam", "sts", "ec2", "s3") if s != service])
        f["Credential"] = "/".join([akid, date, region, service, term])
        return self._with_auth(raw, algo, f)

    def mu_signed_headers_reordered(self) -> Raw:
        raw = self._base()
        algo, f = self._auth_fields(raw)
        names = f["SignedHeaders"].split(";")
        while True:
            shuffled = names[:]
            self.rng.shuffle(shuffled)
            if shuffled != names:
                break
        f["SignedHeaders"] = ";".join(shuffled)
        return self._with_auth(raw, algo, f)

    def mu_signed_header_dropped(self) -> Raw:
        raw = self._base()
        _, f = self._auth_fields(raw)
        victim = self.rng.choice([n for n in f["SignedHeaders"].split(";") if n != "host"])
        return Raw(raw.method, raw.url, [(k, v) for k, v in raw.headers if k.lower() != victim], raw.body)

    def mu_host_unsigned(self) -> Raw:
        # Correctly signed, but without the Host header in the signature: refused (as AWS does).
        service, params = self._pick()
        req = AWSRequest(method="POST", url=URL, data=urlencode(params),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        signer = SigV4Auth(self.rng.choice(self.keys).credentials(), service, REGION)
        with mock.patch.object(SigV4Auth, "headers_to_sign", lambda s, r: _without_host(r)):
            signer.add_auth(req)
        return Raw("POST", URL, list(req.headers.items()), body_of(req))

    # -- headers ----------------------------------------------------------------------------------------------
    def mu_header_duplicated(self) -> Raw:
        raw = self._base()
        _, f = self._auth_fields(raw)
        name = self.rng.choice(f["SignedHeaders"].split(";"))
        value = {"host": "evil.example", "x-amz-date": _now().strftime("%Y%m%dT%H%M%SZ").replace("2", "1"),
                 "content-type": "text/plain",
                 "x-amz-security-token": self.other_session.session_token or ""}.get(name, "x")
        headers = [(name, value), *raw.headers] if self.rng.random() < 0.5 else [*raw.headers, (name, value)]
        return Raw(raw.method, raw.url, headers, raw.body)

    def mu_header_value_swapped(self) -> Raw:
        raw = self._base()
        which = self.rng.choice(["X-Amz-Date", "Host", "Content-Type"])
        value = {"X-Amz-Date": (_now() + datetime.timedelta(seconds=self.rng.randrange(1, 600)))
                 .strftime("%Y%m%dT%H%M%SZ"), "Host": "127.0.0.1:8773",
                 "Content-Type": "application/x-www-form-urlencoded"}[which]
        return _set_header(raw, which, value)

    # -- body, query, path, method ----------------------------------------------------------------------------
    def mu_body_altered(self) -> Raw:
        raw = self._base()
        pairs = parse_qsl(raw.body.decode(), keep_blank_values=True)
        which = self.rng.randrange(4)
        if which == 0:
            pairs.append(("UserName", "someone-else"))
        elif which == 1:
            self.rng.shuffle(pairs)
            pairs.append(("Extra", "1"))
        elif which == 2:
            pairs = [("Action", "CreateUser"), ("UserName", "r1-forged-body"), *[p for p in pairs if p[0] == "Version"]]
        else:
            pairs = [(k, v + " ") for k, v in pairs]
        return Raw(raw.method, raw.url, raw.headers, urlencode(pairs).encode())

    def mu_body_reordered(self) -> Raw:
        service, params = self._pick()
        params = {**params, "MaxItems": "5"} if service == "iam" else {**params, "DryRun": "false"}
        raw = _sign_v4(service, params, self.rng.choice(self.keys))
        pairs = parse_qsl(raw.body.decode(), keep_blank_values=True)
        pairs.reverse()
        return Raw(raw.method, raw.url, raw.headers, urlencode(pairs).encode())

    def mu_body_altered_with_payload_hash(self) -> Raw:
        # The signer sent (and signed) X-Amz-Content-SHA256; the body changes, the header does not.
        service, params = self._pick()
        body = urlencode(params).encode()
        digest = self.rng.choice([hashlib.sha256(body).hexdigest(), "UNSIGNED-PAYLOAD"])
        raw = _sign_v4(service, params, self.rng.choice(self.keys), extra_headers={"X-Amz-Content-SHA256": digest})
        forged = urlencode({"Action": "CreateUser", "UserName": f"r1-forged-hash-{self.rng.randrange(10**9)}",
                            "Version": API_VERSIONS["iam"]}).encode()
        if service != "iam":
            forged = body + b"&Injected=1"
        return Raw(raw.method, raw.url, raw.headers, forged)

    def mu_query_injected(self) -> Raw:
        raw = self._base()
        extra = self.rng.choice([{"Action": "CreateUser", "UserName": "r1-forged-query"}, {"MaxItems": "1"},
                                 {"X-Amz-Security-Token": self.session.session_token or ""}])
        return Raw(raw.method, raw.url + "?" + urlencode(extra), raw.headers, raw.body)

    def mu_path_changed(self) -> Raw:
        raw = self._base()
        path = self.rng.choice(["/services/Euare/", "/services/Tokens/", "/services/compute/", "//", "/x"])
        parts = urlsplit(raw.url)
        return Raw(raw.method, urlunsplit(parts._replace(path=path)), raw.headers, raw.body)

    def mu_method_changed(self) -> Raw:
        raw = self._base()
        return Raw("GET", raw.url + "?" + raw.body.decode(), raw.headers, b"")

    # -- dates ------------------------------------------------------------------------------------------------
    def mu_date_skewed(self) -> Raw:
        delta = self._skew()
        return self._base(when=_now() + (delta if self.rng.random() < 0.5 else -delta))

    def mu_presigned_expired(self) -> Raw:
        service, params = self._pick()
        expires = self.rng.choice([1, 60, 300, 3600])
        when = _now() - datetime.timedelta(seconds=expires + self.rng.choice([2, 30, 600, 86400]))
        return _presign(service, params, self.rng.choice(self.keys), expires, when)

    def mu_presigned_expiry_extended(self) -> Raw:
        service, params = self._pick()
        when = _now() - datetime.timedelta(seconds=400)
        raw = _presign(service, params, self.rng.choice(self.keys), 300, when)
        pairs = [(k, "604800" if k == "X-Amz-Expires" else v) for k, v in parse_qsl(urlsplit(raw.url).query)]
        return Raw("GET", URL + "?" + urlencode(pairs), raw.headers, b"")

    def mu_presigned_signature_flipped(self) -> Raw:
        service, params = self._pick()
        raw = _presign(service, params, self.rng.choice(self.keys), 300)
        pairs = [(k, _mutate_char(self.rng, v, HEX) if k == "X-Amz-Signature" else v)
                 for k, v in parse_qsl(urlsplit(raw.url).query)]
        return Raw("GET", URL + "?" + urlencode(pairs), raw.headers, b"")

    # -- session tokens ---------------------------------------------------------------------------------------
    def mu_token_of_other_session(self) -> Raw:
        a, b = self.rng.sample(self.sessions, 2)
        return self._base(Key(a.access_key_id, a.secret_access_key, b.session_token))

    def mu_token_truncated(self) -> Raw:
        s = self.rng.choice(self.sessions)
        token = s.session_token or ""
        return self._base(Key(s.access_key_id, s.secret_access_key, token[: self.rng.randrange(len(token))]))

    def mu_token_tampered(self) -> Raw:
        s = self.rng.choice(self.sessions)
        token = s.session_token or ""
        if self.rng.random() < 0.5:
            token = _mutate_char(self.rng, token, B64URL)
        else:  # well-formed base64 of a changed byte string
            raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            raw[self.rng.randrange(len(raw))] ^= 1 << self.rng.randrange(8)
            token = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
        return self._base(Key(s.access_key_id, s.secret_access_key, token))

    def mu_token_missing(self) -> Raw:
        s = self.rng.choice(self.sessions)
        return self._base(Key(s.access_key_id, s.secret_access_key))

    def mu_token_on_long_term_key(self) -> Raw:
        k = self.rng.choice([self.cloud.admin, self.acct_admin])
        return self._base(Key(k.access_key_id, k.secret_access_key, self.rng.choice(self.sessions).session_token))

    def mu_token_expired(self) -> Raw:
        minted = self.cloud.cloud.minter.mint(account_id=self.account_id, kind="assumed-role",
                                              duration=-self.rng.choice([1, 60, 3600]), role_id="AROAEXPIRED",
                                              role_name="r1-role", session_name="expired")
        return self._base(Key(minted.access_key_id, minted.secret_access_key, minted.token))

    def mu_dead_credentials(self) -> Raw:
        return self._base(self.rng.choice([self.inactive, self.deleted_user_session]))

    # -- Signature Version 2 ----------------------------------------------------------------------------------
    def _v2(self, key: Key | None = None, when: datetime.datetime | None = None) -> Raw:
        _service, params = self._pick()
        return _sign_v2(params, key or self.rng.choice([self.cloud.admin, self.acct_admin]), when)

    def mu_v2_signature_flipped(self) -> Raw:
        raw = self._v2()
        pairs = parse_qsl(raw.body.decode(), keep_blank_values=True)
        pairs = [(k, _mutate_char(self.rng, v, B64URL) if k == "Signature" else v) for k, v in pairs]
        return Raw(raw.method, raw.url, raw.headers, urlencode(pairs).encode())

    def mu_v2_wrong_secret(self) -> Raw:
        k = self.rng.choice([self.cloud.admin, self.acct_admin])
        return self._v2(Key(k.access_key_id, _mutate_char(self.rng, k.secret_access_key, SECRET_CHARS)))

    def mu_v2_param_altered(self) -> Raw:
        raw = self._v2()
        pairs = parse_qsl(raw.body.decode(), keep_blank_values=True)
        present = set(pairs)  # appending a pair already there changes nothing, so is no forgery
        pairs.append(self.rng.choice([p for p in [("UserName", "someone"), ("Action", "CreateUser"),
                                                  ("Action", "GetUser"), ("DryRun", "true")] if p not in present]))
        return Raw(raw.method, raw.url, raw.headers, urlencode(pairs).encode())

    def mu_v2_skewed(self) -> Raw:
        delta = self._skew()
        return self._v2(when=_now() + (delta if self.rng.random() < 0.5 else -delta))

    def mu_v2_host_changed(self) -> Raw:
        return _set_header(self._v2(), "Host", self.rng.choice(["evil.example", "127.0.0.1:1"]))


def _without_host(request: AWSRequest) -> object:
    from botocore.awsrequest import HTTPHeaders

    headers = HTTPHeaders()
    for name, value in request.headers.items():
        if name.lower() not in ("host", "user-agent", "expect", "x-amzn-trace-id"):
            headers[name.lower()] = value
    return headers


def send(cloud: InProcessCloud, raw: Raw) -> tuple[int, str]:
    resp = cloud.client.request(raw.method, raw.url, content=raw.body, headers=raw.headers)
    return resp.status_code, resp.text


def run(cloud: InProcessCloud, attempts: int, seed: int = 1) -> Result:
    rng = random.Random(seed)
    muts = Mutations(cloud, rng)
    result = Result("R1", "mutated-signed-requests")
    for raw in muts.controls():
        status, text = send(cloud, raw)
        if status != 200:
            raise AssertionError(f"unmutated control request refused ({status}): {text[:300]}")
    names = sorted(muts.all)
    per: dict[str, int] = {}
    for i in range(attempts):
        name = names[i % len(names)]
        raw = muts.all[name]()
        status, text = send(cloud, raw)
        result.attempts += 1
        per[name] = per.get(name, 0) + 1
        if status == 200 or status >= 500:
            result.fail(f"{name}: {status} {text[:200]!r}")
    result.notes.append(f"{len(names)} mutation kinds: " + ", ".join(names))
    return result
