"""The walkthrough as data: sections of commands, each run as printed, with what its output must show.

Command templates are formatted with the run's facts ({account}, {image_id}, ...); `save` copies
values out of a command's JSON output into the facts; `checks` prove the walkthrough's outcomes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLE = "ACCT1-EC2-ACTIONS"
PROFILE = "instance-ec2-actions"
ROLE_POLICY_NAME = "describe-availability-zones"
KEY_NAME = "user01-key"

# The outcomes `eucalite demo` reports; it exits 0 only when every one held.
OUTCOMES: dict[str, str] = {
    "role": "role created and its policy listed back",
    "profile": "the instance profile holds the role",
    "instance": "instance running with the profile (and its euca:node tag)",
    "credentials": "the guest received the role's credentials",
    "daz": "the guest's DescribeAvailabilityZones succeeded",
    "run": "the guest's RunInstances was refused",
}

FILES: dict[str, str] = {
    "ec2-trust.json": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]},
        indent=2),
    "describe-az.json": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones"], "Resource": "*"}]}, indent=2),
    "user01-policy.json": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:PassRole", "iam:ListInstanceProfiles"], "Resource": "*"}]}, indent=2),
}

# cloud-init user data. The tiny guest ignores it and runs its own probe (eucalite/images/tiny_init.sh);
# the Debian guest runs this script, which does step 4 with the real aws CLI and reports on the console.
USER_DATA = "#cloud-config\nruncmd:\n  - echo hello from eucalite\n"
DEBIAN_USER_DATA = """#!/bin/sh
# eucalite demo, inside the guest: role credentials from the metadata service, then the aws CLI with no keys.
exec > /dev/ttyS0 2>&1
MD=http://169.254.169.254/latest/meta-data/iam/security-credentials
ROLE=$(curl -s $MD/)
KEY=$(curl -s "$MD/$ROLE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKeyId"][:8])')
echo "EUCALITE-CREDS role=$ROLE key=$KEY****"
aws ec2 describe-availability-zones --output text; echo "EUCALITE-AWS-DAZ rc=$?"
aws ec2 run-instances --image-id {image_id} --count 1; echo "EUCALITE-AWS-RUN rc=$?"
"""

# A check gets the command's result and the facts; it returns None when it held, else what went wrong.
Check = Callable[["Result", dict[str, Any]], "str | None"]


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def data(self) -> Any:
        try:
            return json.loads(self.stdout) if self.stdout.strip() else {}
        except ValueError:
            return {}

    def error_code(self) -> str | None:
        m = re.search(r"An error occurred \(([^)]+)\)", self.stderr)
        return m.group(1) if m else None


@dataclass(frozen=True)
class Command:
    # argv[0]: aws | eucalite | curl; every part is a template over the facts, and a part that is just
    # "{fact}" naming a list fact is replaced by the list's items.
    argv: tuple[str, ...]
    who: str = ""  # whose credentials: cloud-admin | account-admin | user01 | instance ("" for eucalite, curl)
    expect_error: str | None = None  # the error code this call must fail with
    # fact -> dotted path into the JSON output; "" for the whole output; "re:PATTERN" for its group 1;
    # a trailing "?" lets the value be missing
    save: dict[str, str] = field(default_factory=dict)
    checks: tuple[tuple[str, Check], ...] = ()  # (outcome, check)
    until: Check | None = None  # poll the command until this holds
    timeout: float = 60.0
    stdout_to: str | None = None  # write stdout to this file in the work dir instead of printing it
    when: Callable[[dict[str, Any]], bool] | None = None  # skip unless this holds
    show: Callable[[str], str] | None = None  # what of the output to print
    note: str = ""
    exports_for: str = ""  # the output is `eucalite env` exports: they become this principal's credentials


@dataclass(frozen=True)
class Section:
    title: str
    commands: tuple[Command, ...]
    files: tuple[str, ...] = ()  # policy files shown (cat) before the commands


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)] if len(obj) > int(part) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        if obj is None:
            return None
    return obj


# -- checks ---------------------------------------------------------------------------------------------------
def policy_listed(r: Result, f: dict[str, Any]) -> str | None:
    names = r.data.get("PolicyNames", [])
    return None if ROLE_POLICY_NAME in names else f"{ROLE_POLICY_NAME} not in {names}"


def policy_document(r: Result, f: dict[str, Any]) -> str | None:
    doc = r.data.get("PolicyDocument")
    if isinstance(doc, str):
        doc = json.loads(doc)
    actions = [a for s in (doc or {}).get("Statement", []) for a in _list(s.get("Action"))]
    return None if actions == ["ec2:DescribeAvailabilityZones"] else f"policy document reads back as {doc}"


def profile_holds_role(r: Result, f: dict[str, Any]) -> str | None:
    for p in r.data.get("InstanceProfiles", []):
        if p["InstanceProfileName"] == PROFILE:
            roles = [x["RoleName"] for x in p.get("Roles", [])]
            return None if roles == [ROLE] else f"{PROFILE} holds {roles}"
    return f"{PROFILE} not listed under path /"


# What the walkthrough looks at in describe-instances (the whole answer is a page long).
INSTANCE_QUERY = ("Reservations[0].Instances[0].{InstanceId: InstanceId, State: State.Name, ImageId: ImageId, "
                  "InstanceType: InstanceType, IamInstanceProfile: IamInstanceProfile.Arn, "
                  "Zone: Placement.AvailabilityZone, KeyName: KeyName, Tags: Tags}")


def is_running(r: Result, f: dict[str, Any]) -> str | None:
    state = r.data.get("State") if isinstance(r.data, dict) else None
    return None if state == "running" else f"state {state}"


def running_with_profile(r: Result, f: dict[str, Any]) -> str | None:
    inst = r.data if isinstance(r.data, dict) else {}
    problems = []
    if inst.get("State") != "running":
        problems.append(f"state {inst.get('State')}")
    if inst.get("IamInstanceProfile") != f["profile_arn"]:
        problems.append(f"profile {inst.get('IamInstanceProfile')}")
    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
    if not tags.get("euca:node"):
        problems.append("no euca:node tag")
    return "; ".join(problems) or None


def role_listed(r: Result, f: dict[str, Any]) -> str | None:
    return None if r.stdout.strip() == ROLE else f"listing is {r.stdout.strip()!r}"


def credentials_served(r: Result, f: dict[str, Any]) -> str | None:
    doc = r.data
    ok = doc.get("Code") == "Success" and str(doc.get("AccessKeyId", "")).startswith("ASIA") and doc.get("Token")
    return None if ok else f"credential document {mask_json(r.stdout)}"


def zones_listed(r: Result, f: dict[str, Any]) -> str | None:
    zones = [z["ZoneName"] for z in r.data.get("AvailabilityZones", [])]
    return None if r.rc == 0 and zones else f"rc {r.rc}: {r.stderr.strip()}"


def refused(r: Result, f: dict[str, Any]) -> str | None:
    code = r.error_code()
    return None if r.rc != 0 and code == "UnauthorizedOperation" else f"rc {r.rc}, error {code}: {r.stdout[:200]}"


def console_has(pattern: str, what: str) -> Check:
    def check(r: Result, f: dict[str, Any]) -> str | None:
        return None if re.search(pattern.format(**f), r.stdout) else f"no {what} on the console"
    return check


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v] if v else []


# -- display --------------------------------------------------------------------------------------------------
SECRET_FIELDS = ("SecretAccessKey", "Token", "SessionToken", "KeyMaterial")


def mask_json(text: str) -> str:
    """Secrets shortened to their first four characters: the demo shows where they are, not what."""
    fields = "|".join(SECRET_FIELDS)
    return re.sub(rf'("(?:{fields})"\s*:\s*")([^"]{{4}})[^"]*(")', r"\1\2…\3", text)


def mask_exports(text: str) -> str:
    return re.sub(r"(AWS_SECRET_ACCESS_KEY=)'?([^'\s]{4})[^'\s]*'?", r"\1\2…", text)


def marker_lines(text: str) -> str:
    lines = [ln for ln in text.splitlines() if "EUCALITE-" in ln or "UnauthorizedOperation" in ln
             or "eucalite-1" in ln]
    return "\n".join(lines[-12:])


# -- the walkthrough ------------------------------------------------------------------------------------------
def sections(guest: str) -> list[Section]:
    """guest: `metadata` (memory driver: step 4 from the host through the instance's metadata URL),
    `tiny` or `debian` (libvirt: step 4 by the real guest, read back with GetConsoleOutput)."""
    return [
        Section("1. The cloud administrator creates account {account} and looks up the image (registering it if missing)", (
            Command(("aws", "iam", "create-account", "--account-name", "{account}"), "cloud-admin",
                    save={"account_id": "Account.AccountId"}),
            Command(("eucalite", "env", "--account", "{account}"),
                    note='the account admin\'s credentials, as `eval "$(eucalite env --account {account}{data_dir_opt})"` loads them',
                    show=mask_exports, exports_for="account-admin"),
            Command(("aws", "ec2", "describe-images", "--owners", "self", "--filters", "Name=name,Values={image_name}",
                     "Name=image-type,Values=machine"),
                    "cloud-admin", save={"image_id": "Images.0.ImageId?"}),
            Command(("eucalite", "image", "import", "--name", "{image_name}", "{image_args}"),
                    save={"image_id": r"re:IMAGE\t(emi-\w+)\tmachine"},
                    when=lambda f: not f.get("image_id"), note="registered once, public (launch permission all)"),
        )),
        Section("2. The admin of {account} creates user01 with an access key and an EC2 + PassRole policy", (
            Command(("aws", "iam", "create-user", "--user-name", "user01"), "account-admin"),
            Command(("aws", "iam", "put-user-policy", "--user-name", "user01", "--policy-name", "ec2-and-passrole",
                     "--policy-document", "file://user01-policy.json"), "account-admin"),
            Command(("aws", "iam", "create-access-key", "--user-name", "user01"), "account-admin",
                    save={"user01_key": "AccessKey.AccessKeyId", "user01_secret": "AccessKey.SecretAccessKey"},
                    show=mask_json),
        ), files=("user01-policy.json",)),
        Section("3. The account admin creates the role, uploads its policy, wraps it in an instance profile", (
            Command(("aws", "iam", "create-role", "--role-name", ROLE, "--assume-role-policy-document",
                     "file://ec2-trust.json"), "account-admin", save={"role_arn": "Role.Arn"}),
            Command(("aws", "iam", "put-role-policy", "--role-name", ROLE, "--policy-name", ROLE_POLICY_NAME,
                     "--policy-document", "file://describe-az.json"), "account-admin"),
            Command(("aws", "iam", "list-role-policies", "--role-name", ROLE), "account-admin",
                    checks=(("role", policy_listed),)),
            Command(("aws", "iam", "get-role-policy", "--role-name", ROLE, "--policy-name", ROLE_POLICY_NAME),
                    "account-admin", checks=(("role", policy_document),)),
            Command(("aws", "iam", "create-instance-profile", "--instance-profile-name", PROFILE, "--path", "/"),
                    "account-admin", save={"profile_arn": "InstanceProfile.Arn"}),
            Command(("aws", "iam", "add-role-to-instance-profile", "--instance-profile-name", PROFILE,
                     "--role-name", ROLE), "account-admin"),
            Command(("aws", "iam", "list-instance-profiles", "--path-prefix", "/"), "account-admin",
                    checks=(("profile", profile_holds_role),)),
        ), files=("ec2-trust.json", "describe-az.json")),
        Section("4. user01 launches an instance with the instance profile", (
            Command(("aws", "ec2", "create-key-pair", "--key-name", KEY_NAME, "--query", "KeyMaterial",
                     "--output", "text"), "user01", stdout_to=f"{KEY_NAME}.pem"),
            Command(("aws", "ec2", "authorize-security-group-ingress", "--group-name", "default", "--protocol", "tcp",
                     "--port", "22", "--cidr", "0.0.0.0/0"), "user01"),
            Command(("aws", "ec2", "run-instances", "--image-id", "{image_id}", "--instance-type", "{instance_type}",
                     "--key-name", KEY_NAME, "--user-data", "file://user-data",
                     "--iam-instance-profile", "Arn=arn:aws:iam::{account_id}:instance-profile/" + PROFILE),
                    "user01", save={"instance_id": "Instances.0.InstanceId"}),
            Command(("aws", "ec2", "describe-instances", "--instance-ids", "{instance_id}", "--query",
                     INSTANCE_QUERY.replace("{", "{{").replace("}", "}}")),
                    "user01",
                    until=is_running, timeout=180, checks=(("instance", running_with_profile),)),
        )),
        _guest_section(guest),
    ]


def _guest_section(guest: str) -> Section:
    if guest == "metadata":
        creds = "{metadata_url}/latest/meta-data/iam/security-credentials/"
        return Section("5. Inside the instance (memory driver: from the host, through the instance's metadata URL)", (
            Command(("eucalite", "metadata-url", "{instance_id}"), save={"metadata_url": ""},
                    note="export AWS_EC2_METADATA_SERVICE_ENDPOINT=$(eucalite metadata-url {instance_id}{data_dir_opt})"),
            Command(("curl", "-s", creds), checks=(("credentials", role_listed),)),
            Command(("curl", "-s", creds + ROLE), checks=(("credentials", credentials_served),), show=mask_json),
            Command(("aws", "ec2", "describe-availability-zones"), "instance", checks=(("daz", zones_listed),)),
            Command(("aws", "ec2", "run-instances", "--image-id", "{image_id}", "--instance-type", "m1.small"),
                    "instance", expect_error="UnauthorizedOperation", checks=(("run", refused),)),
        ))
    if guest == "tiny":
        done, creds = r"EUCALITE-RUN ", r"EUCALITE-CREDS role=" + ROLE + r" key=ASIA"
        daz, run = r"EUCALITE-DAZ zones=\S", r"EUCALITE-RUN error=UnauthorizedOperation"
        timeout = 240.0
    else:
        done, creds = r"EUCALITE-AWS-RUN rc=", r"EUCALITE-CREDS role=" + ROLE + r" key=ASIA"
        daz, run = r"EUCALITE-AWS-DAZ rc=0", r"\(UnauthorizedOperation\) when calling the RunInstances operation"
        timeout = 900.0
    return Section(f"5. Inside the guest ({guest} image under libvirt: its serial console, via GetConsoleOutput)", (
        Command(("aws", "ec2", "get-console-output", "--instance-id", "{instance_id}", "--output", "text",
                 "--query", "Output"), "user01", until=console_has(done, "finished round"), timeout=timeout,
                show=marker_lines,
                checks=(("credentials", console_has(creds, "credentials line for " + ROLE)),
                        ("daz", console_has(daz, "successful DescribeAvailabilityZones")),
                        ("run", console_has(run, "RunInstances refused with UnauthorizedOperation")))),
    ))


def cleanup() -> tuple[Command, ...]:
    return (Command(("aws", "ec2", "terminate-instances", "--instance-ids", "{instance_id}"), "user01",
                    when=lambda f: bool(f.get("instance_id"))),)
