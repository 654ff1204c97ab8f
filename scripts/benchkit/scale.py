"""P5: 10,000 roles and 1,000 running instances (memory driver), the same world built through each server's
API: ListRoles over every page, DescribeInstances of all and of one id, and the server's RSS."""

from __future__ import annotations

import re
import time
from pathlib import Path

from benchkit.loadgen import RawClient, send_all
from benchkit.report import Result, fmt_ratio, median, verdict
from benchkit.scenario import MOTO_REGION, _wait_running, call, eucalite_admin, import_image, moto_image, tag
from benchkit.servers import Server
from benchkit.signing import Keys, Target, sign

ROLES = 10_000
INSTANCES = 1_000
TRUST = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},'
         '"Action":"sts:AssumeRole"}]}')


def populate(admin: Target, server: Server, image_id: str) -> list[str]:
    started = time.perf_counter()
    send_all(server.port, (sign(admin, "iam", "CreateRole", {"RoleName": f"scale-role-{i:05d}", "Path": "/scale/",
                                                              "AssumeRolePolicyDocument": TRUST})
                           for i in range(ROLES)),
             connections=1 if server.name == "moto" else 4)  # moto_server's threads race on IAM writes (500s)
    ids: list[str] = []
    while len(ids) < INSTANCES:
        body = call(admin, "ec2", "RunInstances", {"ImageId": image_id, "MinCount": 100, "MaxCount": 100,
                                                   "InstanceType": "m1.small"})
        ids += tag(body, "instanceId")
    _wait_running(admin, ids)
    print(f"  P5 {server.name}: {ROLES} roles and {len(ids)} running instances in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return ids


def list_all_roles(admin: Target, port: int) -> tuple[float, int, int]:
    """(seconds, roles, pages); each page is signed just before it is sent (about 0.1 ms)."""
    marker, roles, pages = None, 0, 0
    t0 = time.perf_counter()
    with RawClient(port) as c:
        while True:
            resp = c.send(sign(admin, "iam", "ListRoles", {"Marker": marker} if marker else {}))
            if resp.status != 200:
                raise RuntimeError(f"ListRoles -> {resp.status}: {resp.body[:300]!r}")
            pages += 1
            roles += resp.body.count(b"<RoleName>")
            m = re.search(rb"<Marker>([^<]+)</Marker>", resp.body)
            if b"<IsTruncated>true</IsTruncated>" not in resp.body or m is None:
                break
            marker = m.group(1).decode()
    return time.perf_counter() - t0, roles, pages


def measure(admin: Target, server: Server, one_id: str, repeats: int) -> dict[str, float]:
    all_req = sign(admin, "ec2", "DescribeInstances")
    one_req = sign(admin, "ec2", "DescribeInstances", {"InstanceId": [one_id]})
    out: dict[str, float] = {}
    secs, roles, pages = list_all_roles(admin, server.port)
    if roles < ROLES:
        raise RuntimeError(f"{server.name} listed {roles} roles")
    out["list_roles"] = secs
    with RawClient(server.port) as c:
        alls, ones = [], []
        for _ in range(repeats):
            dt, resp = c.timed(all_req)
            n = resp.body.count(b"<instanceId>")
            if resp.status != 200 or n < INSTANCES:
                raise RuntimeError(f"{server.name} DescribeInstances gave {resp.status}, {n} instances")
            alls.append(dt)
        for _ in range(repeats * 4):
            dt, resp = c.timed(one_req)
            if resp.status != 200 or resp.body.count(b"<instanceId>") != 1:
                raise RuntimeError(f"{server.name} DescribeInstances(one) gave {resp.status}")
            ones.append(dt)
    out["describe_all"], out["describe_one"] = median(alls), median(ones)
    print(f"  P5 {server.name}: ListRoles {pages} pages {secs * 1000:.0f} ms, DescribeInstances all "
          f"{out['describe_all'] * 1000:.1f} ms, one {out['describe_one'] * 1000:.2f} ms", flush=True)
    return out


def run(euca: Server, euca_data: Path, moto: Server, work: Path, rounds: int) -> list[Result]:
    call(eucalite_admin(euca, euca_data), "iam", "CreateAccount", {"AccountName": "scale"})
    e_admin = eucalite_admin(euca, euca_data, "scale")
    m_admin = Target("moto", moto.url, MOTO_REGION, Keys("testing", "testing"))
    e_ids = populate(e_admin, euca, import_image(euca_data, work))
    m_ids = populate(m_admin, moto, moto_image(m_admin))
    sides = [("eucalite", e_admin, euca, e_ids[len(e_ids) // 2]), ("moto", m_admin, moto, m_ids[len(m_ids) // 2])]
    samples: dict[str, dict[str, list[float]]] = {n: {} for n, *_ in sides}
    for r in range(rounds):
        for name, admin, server, one in sides if r % 2 == 0 else sides[::-1]:
            for k, v in measure(admin, server, one, repeats=3).items():
                samples[name].setdefault(k, []).append(v)
    e = {k: median(v) for k, v in samples["eucalite"].items()}
    m = {k: median(v) for k, v in samples["moto"].items()}
    e_rss, m_rss = euca.rss_mb(), moto.rss_mb()
    return [
        Result("P5", "list-roles-10000-all-pages", f"{e['list_roles'] * 1000:.0f}ms",
               f"{m['list_roles'] * 1000:.0f}ms", fmt_ratio(m["list_roles"] / e["list_roles"]), "faster-than-peer",
               verdict(e["list_roles"] < m["list_roles"])),
        Result("P5", "describe-instances-all-1000", f"{e['describe_all'] * 1000:.1f}ms",
               f"{m['describe_all'] * 1000:.1f}ms", fmt_ratio(m["describe_all"] / e["describe_all"]), "<150ms",
               verdict(e["describe_all"] < 0.150)),
        Result("P5", "describe-instances-one-id", f"{e['describe_one'] * 1000:.2f}ms",
               f"{m['describe_one'] * 1000:.2f}ms", fmt_ratio(m["describe_one"] / e["describe_one"]), "<5ms",
               verdict(e["describe_one"] < 0.005)),
        Result("P5", "server-rss-at-scale", f"{e_rss:.0f}MB", f"{m_rss:.0f}MB", fmt_ratio(m_rss / e_rss),
               "<200MB", verdict(e_rss < 200)),
    ]
