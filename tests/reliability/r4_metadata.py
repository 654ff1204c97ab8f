"""R4: an instance trying to get another instance's credentials through its own metadata channel.

The attacker X speaks raw HTTP/1.1 on its channel (so nothing normalises the path or headers for it):
other roles' credential paths, traversal and encoding tricks, absolute-form targets naming another
channel, X-Forwarded-For / Forwarded / Host / invented instance headers, the victim's IMDSv2 token,
forged and tampered tokens, guessed instance ids, pipelined requests. A success is any response that
carries the victim's key id, secret, token, instance id, role name or account id. The victim's own
channel (tokens required) is also offered X's tokens and forged ones: those must all be refused.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from tests.reliability.harness import InProcessCloud, Key, Result, xml_value

TRUST = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]})
ALLOW_AZ = json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones", "Resource": "*"}]})
CRED_PATH = "/latest/meta-data/iam/security-credentials/"


def http(port: int, request: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        s.settimeout(timeout)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if b"Connection: close" not in request and _complete(b"".join(chunks), request.count(b"HTTP/1.1\r\n")):
                    break
        except TimeoutError:
            pass
        return b"".join(chunks)


def _complete(data: bytes, responses: int) -> bool:
    # Good enough for these responses: count finished Content-Length bodies.
    done, rest = 0, data
    while b"\r\n\r\n" in rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        if len(rest) < length:
            return False
        rest = rest[length:]
        done += 1
    return done >= responses


def request(method: str, target: str, headers: list[tuple[str, str]] | None = None, close: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    names = {k.lower() for k, _ in headers or []}
    if "host" not in names:
        lines.append("Host: 169.254.169.254")
    lines += [f"{k}: {v}" for k, v in headers or []]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Instance:
    id: str
    port: int
    role: str
    account_id: str
    creds: dict[str, str]
    private_ip: str


def _launch(cloud: InProcessCloud, key: Key, account_id: str, role: str, image: str, required: bool) -> Instance:
    c = cloud
    c.ok("iam", "CreateRole", key, RoleName=role, AssumeRolePolicyDocument=TRUST)
    c.ok("iam", "PutRolePolicy", key, RoleName=role, PolicyName="az", PolicyDocument=ALLOW_AZ)
    c.ok("iam", "CreateInstanceProfile", key, InstanceProfileName=role)
    c.ok("iam", "AddRoleToInstanceProfile", key, InstanceProfileName=role, RoleName=role)
    extra = {"MetadataOptions.HttpTokens": "required"} if required else {}
    iid = xml_value(c.ok("ec2", "RunInstances", key, ImageId=image, MinCount="1", MaxCount="1",
                         InstanceType="m1.small", **{"IamInstanceProfile.Name": role}, **extra), "instanceId")
    deadline = time.monotonic() + 20
    while True:
        row = c.reader.store.one("select state, metadata_port, private_ip from instances where id = ?", [iid])
        if row and row["state"] == "running" and row["metadata_port"]:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{iid} not running: {row}")
        time.sleep(0.1)
    port = int(row["metadata_port"])
    token = _token(port)
    body = _body(http(port, request("GET", CRED_PATH + role, [("X-aws-ec2-metadata-token", token)])))
    creds = json.loads(body)
    assert creds.get("Code") == "Success", body
    return Instance(iid, port, role, account_id, creds, row["private_ip"] or "")


def _token(port: int, ttl: int = 21600) -> str:
    raw = http(port, request("PUT", "/latest/api/token", [("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))]))
    assert b" 200 " in raw.split(b"\r\n", 1)[0], raw[:200]
    return _body(raw).decode()


def _body(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[2]


class Attack:
    def __init__(self, cloud: InProcessCloud, rng: random.Random) -> None:
        self.rng = rng
        tag = uuid.uuid4().hex[:6]
        _, a_id, a_key = cloud.new_account("r4-a")
        _, b_id, b_key = cloud.new_account("r4-b")
        img_a = xml_value(cloud.ok("ec2", "RegisterImage", a_key, Name=f"r4a-{tag}"), "imageId")
        img_b = xml_value(cloud.ok("ec2", "RegisterImage", b_key, Name=f"r4b-{tag}"), "imageId")
        self.x = _launch(cloud, a_key, a_id, f"r4-attacker-{tag}", img_a, required=False)
        # Victims: another account's instance (tokens required) and a neighbour in the attacker's account.
        self.y = _launch(cloud, b_key, b_id, f"r4-victim-{tag}", img_b, required=True)
        self.z = _launch(cloud, a_key, a_id, f"r4-neighbour-{tag}", img_a, required=False)
        self.victims = [self.y, self.z]
        self.y_token = _token(self.y.port)
        self.z_token = _token(self.z.port)
        self.x_token = _token(self.x.port)

    def secrets(self, v: Instance) -> set[str]:
        out = {v.creds["AccessKeyId"], v.creds["SecretAccessKey"], v.creds["Token"], v.id, v.role}
        if v.account_id != self.x.account_id:
            out.add(v.account_id)
        return out

    # -- the attempts ---------------------------------------------------------------------------------------
    def targets(self, v: Instance) -> list[str]:
        role, vid = v.role, v.id
        guessed = f"i-{self.rng.randrange(16**8):08x}"
        return [
            CRED_PATH + role, CRED_PATH + role + "/", CRED_PATH + quote(role, safe=""),
            CRED_PATH + quote(role, safe="").replace("-", "%2D"), CRED_PATH + role.upper(),
            CRED_PATH + self.x.role + "/../" + role, CRED_PATH + "%2e%2e/" + role,
            f"/latest/meta-data/../../{vid}/latest/meta-data/iam/security-credentials/{role}",
            f"/{vid}/latest/meta-data/iam/security-credentials/{role}",
            f"/latest/meta-data/instance-id/{vid}", f"/latest/meta-data/iam/info?instance-id={vid}",
            f"{CRED_PATH}{role}?instance-id={vid}", f"{CRED_PATH}?instance={vid}",
            f"//latest//meta-data//iam//security-credentials//{role}",
            f"/latest/meta-data/iam/security-credentials/{role}%00", f"/latest/meta-data/iam/security-credentials/{role};",
            f"http://169.254.169.254{CRED_PATH}{role}", f"http://127.0.0.1:{v.port}{CRED_PATH}{role}",
            f"http://127.0.0.1:{v.port}/latest/meta-data/instance-id",
            f"/latest/dynamic/instance-identity/document?instance-id={vid}",
            f"/latest/meta-data/instances/{vid}/iam/security-credentials/{role}",
            f"{CRED_PATH}{guessed}", f"/{guessed}/latest/meta-data/instance-id",
            "/latest/user-data", "/latest/meta-data/instance-id", "/latest/meta-data/iam/info",
            "/latest/dynamic/instance-identity/document", CRED_PATH,
        ]

    def header_sets(self, v: Instance) -> list[list[tuple[str, str]]]:
        port = str(v.port)
        return [
            [],
            [("Host", f"127.0.0.1:{port}")], [("Host", f"localhost:{port}")], [("Host", v.private_ip or "10.0.0.2")],
            [("X-Forwarded-For", v.private_ip or "10.0.0.2")], [("X-Forwarded-For", f"127.0.0.1:{port}")],
            [("X-Real-IP", v.private_ip or "10.0.0.2")], [("Forwarded", f"for={v.private_ip};host=127.0.0.1:{port}")],
            [("X-Forwarded-Host", f"127.0.0.1:{port}"), ("X-Forwarded-Port", port)],
            [("X-Instance-Id", v.id)], [("X-aws-ec2-metadata-instance-id", v.id)], [("X-Original-URL", CRED_PATH + v.role)],
            [("X-Rewrite-URL", CRED_PATH + v.role)],
        ]

    def tokens(self, v: Instance) -> list[str]:
        victim_token = self.y_token if v is self.y else self.z_token
        raw = base64.urlsafe_b64decode(self.x_token)
        payload, mac = raw[:-33], raw[-33:]
        owner, _, expiry = payload.decode().partition("|")
        forged = [
            victim_token,
            base64.urlsafe_b64encode(f"{v.id}|{expiry}".encode() + mac).decode(),  # X's MAC, victim's id
            base64.urlsafe_b64encode(f"{owner}|{int(expiry) + 10**6}".encode() + mac).decode(),
            base64.urlsafe_b64encode(f"{v.id}|{expiry}|".encode() + b"\0" * 32).decode(),
            victim_token[:-4], victim_token + "AAAA", "", "null", f"{v.id}",
        ]
        return forged

    def attempts(self) -> list[tuple[str, int, bytes, set[str]]]:
        """(label, port, raw request, what must not appear in the reply)."""
        out: list[tuple[str, int, bytes, set[str]]] = []
        for v in self.victims:
            secrets = self.secrets(v)
            targets, headers, tokens = self.targets(v), self.header_sets(v), self.tokens(v)
            for t in targets:
                for h in headers:
                    out.append((f"path {t} headers {h}", self.x.port, request("GET", t, h), secrets))
                for tok in tokens:
                    out.append((f"path {t} token {tok[:16]}", self.x.port,
                                request("GET", t, [("X-aws-ec2-metadata-token", tok)]), secrets))
            # Tokens other than its own at the victim's channel (which, for Y, requires tokens).
            if v.id == self.y.id:
                for tok in [self.x_token, self.z_token, *tokens[1:]]:
                    for t in (CRED_PATH + v.role, "/latest/meta-data/instance-id", "/latest/user-data"):
                        out.append((f"victim channel, foreign token {tok[:16]} {t}", v.port,
                                    request("GET", t, [("X-aws-ec2-metadata-token", tok)]), secrets))
            # A relay minting tokens, and pipelined requests smuggling a second Host.
            out.append(("PUT token via proxy", self.x.port,
                        request("PUT", "/latest/api/token", [("X-aws-ec2-metadata-token-ttl-seconds", "60"),
                                                             ("X-Forwarded-For", v.private_ip or "10.0.0.2")]),
                        secrets))
            pipelined = request("GET", "/latest/meta-data/instance-id", close=False) + request(
                "GET", CRED_PATH + v.role, [("Host", f"127.0.0.1:{v.port}")])
            out.append(("pipelined", self.x.port, pipelined, secrets))
        return out


def run(cloud: InProcessCloud, rounds: int = 1, seed: int = 4) -> Result:
    result = Result("R4", "metadata-cross-instance")
    attack = Attack(cloud, random.Random(seed))
    for _ in range(rounds):
        for label, port, raw, secrets in attack.attempts():
            result.attempts += 1
            try:
                reply = http(port, raw)
            except OSError as exc:
                result.fail(f"{label}: connection failed {exc}")
                continue
            text = reply.decode("latin-1")
            shown = sorted(s for s in secrets if s and s in text)
            if shown:
                result.fail(f"{label}: reply shows {shown}: {text[:200]!r}")
            elif reply.split(b" ", 2)[1:2] and reply.split(b" ", 2)[1].startswith(b"5"):
                result.fail(f"{label}: server error {text[:200]!r}")
    result.notes.append(f"attacker {attack.x.id}; victims {attack.y.id} (other account, tokens required) and "
                        f"{attack.z.id} (same account)")
    return result
