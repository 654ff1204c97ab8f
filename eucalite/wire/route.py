"""Which service a request is for: Eucalyptus service path, else SigV4 scope, else Action/Version."""

from __future__ import annotations

import re

from eucalite.wire.request import WireRequest
from eucalite.wire.specs import EC2_ACCEPTED_VERSIONS, service

# Eucalyptus 3.4 served each service under its own path on port 8773; euca2ools still uses these.
EUCALYPTUS_PATHS = {
    "/services/Euare": "iam",
    "/services/Tokens": "sts",
    "/services/compute": "ec2",
    "/services/Eucalyptus": "ec2",
}
_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_QUERY_SCOPE_RE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")
_VERSIONS = {"2010-05-08": "iam", "2011-06-15": "sts"}
_KNOWN = ("iam", "sts", "ec2")


def service_for(req: WireRequest, params: dict[str, str]) -> str | None:
    path = req.path.rstrip("/")
    for prefix, name in EUCALYPTUS_PATHS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return name
    auth = req.header("authorization") or ""
    m = _SCOPE_RE.search(auth)
    if m is None and "X-Amz-Credential" in params:
        m = _QUERY_SCOPE_RE.match(params["X-Amz-Credential"])
    if m is not None and m.group(1) in _KNOWN:
        return m.group(1)
    version = params.get("Version", "")
    if version in _VERSIONS:
        return _VERSIONS[version]
    if version in EC2_ACCEPTED_VERSIONS:
        return "ec2"
    action = params.get("Action", "")
    for name in ("sts", "iam", "ec2"):  # STS first: its few actions never collide with IAM's
        if action in service(name).operation_names:
            return name
    return None
