"""P6: one policy decision by the pure engine, over a 10-statement policy set with wildcards and conditions
(the recipe in eucalite/policy/engine.py's docstring), median of repeated timeit rounds."""

from __future__ import annotations

import json
import timeit

from benchkit.report import Result, median, verdict


def decision_us(rounds: int, number: int = 20000) -> float:
    from eucalite.policy import Policy, PolicyKind, Principal, RequestContext, evaluate, parse_policy

    alice = Principal("arn:aws:iam::123456789012:user/alice", "123456789012", "User", user_name="alice")
    ip = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}
    s: list[dict] = [{"Effect": "Allow", "Action": f"iam:{v}*", "Resource": "arn:aws:iam::*:user/${aws:username}"}
                     for v in ("Get", "List", "Tag")]
    s += [{"Effect": "Allow", "Action": ["ec2:Describe*", "ec2:Get*"], "Resource": "*", "Condition": ip},
          {"Effect": "Allow", "Action": "ec2:*Instances", "Resource": "arn:aws:ec2:*:*:instance/*",
           "Condition": {"StringEquals": {"ec2:Region": "us-east-1"}, **ip}},
          {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"},
          {"Effect": "Deny", "Action": "*", "Resource": "*",
           "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
          {"Effect": "Deny", "Action": "ec2:Terminate*", "Resource": "*",
           "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": "admin"}}},
          {"Effect": "Deny", "Action": "*", "Resource": "*",
           "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}},
          {"Effect": "Deny", "NotAction": ["iam:*", "ec2:*", "s3:*"], "Resource": "*"}]
    doc = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": s}), PolicyKind.IDENTITY)
    ps = [Policy("mixed", doc, "user inline")]
    ctx = RequestContext("ec2:StartInstances", ("arn:aws:ec2:us-east-1:123456789012:instance/i-1",), alice,
                         {"aws:SourceIp": "10.1.2.3", "ec2:Region": "us-east-1", "aws:SecureTransport": "true",
                          "aws:CurrentTime": "2026-01-01T00:00:00Z"})
    assert len(s) == 10 and evaluate(ctx, ps).decision == "allow"  # the last Allow decides: all ten are read
    times = timeit.repeat(lambda: evaluate(ctx, ps), number=number, repeat=rounds)
    return median([t / number * 1e6 for t in times])


def run(rounds: int) -> list[Result]:
    us = decision_us(rounds)
    print(f"  P6 {us:.2f} us per decision", flush=True)
    return [Result("P6", "policy-decision-10-statements", f"{us:.2f}us", "-", "-", "<20us", verdict(us < 20))]
