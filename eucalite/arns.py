"""ARN spellings in one place (IAM resources carry their path; EC2 resources their region)."""

from __future__ import annotations


def iam(account: str, kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def user(account: str, name: str, path: str = "/") -> str:
    return iam(account, "user", name, path)


def role(account: str, name: str, path: str = "/") -> str:
    return iam(account, "role", name, path)


def group(account: str, name: str, path: str = "/") -> str:
    return iam(account, "group", name, path)


def instance_profile(account: str, name: str, path: str = "/") -> str:
    return iam(account, "instance-profile", name, path)


def policy(account: str, name: str, path: str = "/") -> str:
    return iam(account, "policy", name, path)


def ec2(region: str, account: str, kind: str, resource_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:{kind}/{resource_id}"


def ec2_image(region: str, image_id: str) -> str:
    # AWS image ARNs carry no account: images may be shared across accounts.
    return f"arn:aws:ec2:{region}::image/{image_id}"


def split(arn: str) -> tuple[str, str, str, str, str]:
    """(service, region, account, resource-type, resource-rest) of an ARN; ValueError if it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn}")
    resource = parts[5]
    kind, _, rest = resource.partition("/")
    return parts[2], parts[3], parts[4], kind, rest
