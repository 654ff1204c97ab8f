"""Runs the scenario: each command is printed, really run (aws CLI, eucalite, curl subprocesses), and checked."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from eucalite.demo.output import Printer
from eucalite.demo.scenario import OUTCOMES, Command, Result, Section, dig

WHO = {
    "cloud-admin": 'as the cloud administrator (admin@eucalyptus: eval "$(eucalite env{data_dir_opt})")',
    "account-admin": "as the admin of {account}",
    "user01": "as user01 of {account} (the access key just created)",
    "instance": "as software on the instance: no keys; AWS_EC2_METADATA_SERVICE_ENDPOINT={metadata_url}",
}


class StepFailed(Exception):
    pass


def aws_binary() -> str:
    """The aws CLI of this environment (the venv's, installed with eucalite[test]) before PATH's."""
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.exists() else shutil.which("aws")
    if not found:
        raise StepFailed("the aws CLI is not installed (bash scripts/setup.sh installs it into .venv)")
    return found


def parse_exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            out[name] = shlex.split(value)[0] if value else ""
    return out


class Runner:
    def __init__(self, printer: Printer, data_dir: Path, workdir: Path, facts: dict[str, Any],
                 show_data_dir: bool) -> None:
        self.p = printer
        self.data_dir = data_dir
        self.workdir = workdir
        self.facts = facts
        self.show_data_dir = show_data_dir
        # What hints append to the eucalite commands they suggest, as shown() does to those it runs.
        self.facts.setdefault("data_dir_opt", f" --data-dir {shlex.quote(str(data_dir))}" if show_data_dir else "")
        self.creds: dict[str, dict[str, str]] = {}  # who -> AWS_* variables
        self.held: dict[str, bool | None] = dict.fromkeys(OUTCOMES)
        self.failures: dict[str, str] = {}
        self.last_who = ""
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # Nothing from ~/.aws leaks in; no pager; one retry at most so refusals show at once.
        self.base_env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                              "AWS_PAGER": "", "AWS_DEFAULT_OUTPUT": "json", "AWS_MAX_ATTEMPTS": "1"})

    # -- environment ------------------------------------------------------------------------------------------
    def eucalite(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "eucalite", *args, "--data-dir", str(self.data_dir)],
                              capture_output=True, text=True, cwd=self.workdir)

    def load_env(self, who: str, account: str) -> None:
        """Credentials as `eucalite env` exports them: keys, endpoint, region and AWS_DATA_PATH (which
        makes `aws iam create-account` known to the CLI)."""
        done = self.eucalite("env", "--account", account)
        if done.returncode != 0:
            raise StepFailed(f"eucalite env --account {account}: {done.stderr.strip()}")
        self.creds[who] = parse_exports(done.stdout)

    def env_for(self, who: str) -> dict[str, str]:
        env = dict(self.base_env)
        admin = self.creds["cloud-admin"]
        common = {k: admin[k] for k in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_DATA_PATH")}
        env.update(common)
        if who == "user01":
            env.update({"AWS_ACCESS_KEY_ID": self.facts["user01_key"],
                        "AWS_SECRET_ACCESS_KEY": self.facts["user01_secret"]})
        elif who == "instance":
            # No keys at all: botocore's credential chain ends at the instance metadata provider.
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.facts["metadata_url"]
        else:
            env.update({k: v for k, v in self.creds[who].items() if k.startswith("AWS_")})
        return env

    # -- running ----------------------------------------------------------------------------------------------
    def fmt(self, template: str) -> str:
        return template.format(**self.facts)

    def argv(self, cmd: Command) -> list[str]:
        out: list[str] = []
        for part in cmd.argv:
            m = re.fullmatch(r"\{(\w+)\}", part)
            if m and isinstance(self.facts.get(m.group(1)), list):
                out.extend(self.facts[m.group(1)])
            else:
                out.append(self.fmt(part))
        return out

    def shown(self, argv: list[str]) -> list[str]:
        if argv[0] == "eucalite" and self.show_data_dir:
            return [*argv, "--data-dir", str(self.data_dir)]
        return argv

    def execute(self, cmd: Command, argv: list[str]) -> Result:
        if argv[0] == "aws":
            done = subprocess.run([aws_binary(), *argv[1:]], capture_output=True, text=True,
                                  env=self.env_for(cmd.who), cwd=self.workdir, timeout=120)
            return Result(done.returncode, done.stdout, done.stderr)
        if argv[0] == "eucalite":
            done = self.eucalite(*argv[1:])
            return Result(done.returncode, done.stdout, done.stderr)
        if argv[0] == "curl":
            url = argv[-1]
            if shutil.which("curl"):
                done = subprocess.run(["curl", "-sS", "--max-time", "10", url], capture_output=True, text=True)
                return Result(done.returncode, done.stdout, done.stderr)
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    return Result(0, resp.read().decode(), "")
            except OSError as exc:
                return Result(7, "", str(exc))
        raise StepFailed(f"unknown command {argv[0]}")

    def run_section(self, section: Section) -> None:
        self.p.section(self.fmt(section.title))
        for name in section.files:
            self.p.file(name, (self.workdir / name).read_text())
        for cmd in section.commands:
            self.run(cmd)

    def run(self, cmd: Command) -> Result | None:
        if cmd.when is not None and not cmd.when(self.facts):
            return None
        argv = self.argv(cmd)
        if cmd.who and cmd.who != self.last_who:
            self.p.comment(WHO[cmd.who].format(**self.facts))
            self.last_who = cmd.who
        if cmd.note:
            self.p.comment(self.fmt(cmd.note))
        self.p.command(self.shown(argv), cmd.stdout_to)
        result = self.execute(cmd, argv)
        if cmd.until is not None:
            deadline = time.monotonic() + cmd.timeout
            started = report = time.monotonic()
            while cmd.until(result, self.facts) is not None and time.monotonic() < deadline:
                if time.monotonic() >= report:
                    self.p.comment(f"waiting ({int(time.monotonic() - started)} s of at most {int(cmd.timeout)} s)")
                    report += 15
                time.sleep(1.0)
                result = self.execute(cmd, argv)
        if cmd.stdout_to:
            out_file = self.workdir / cmd.stdout_to
            out_file.write_text(result.stdout)
            out_file.chmod(0o600)
            shown = ""
        else:
            shown = cmd.show(result.stdout) if cmd.show else result.stdout
        self.p.output(shown)
        if result.rc != 0:
            self.p.output(result.stderr)
        if cmd.expect_error is None and result.rc != 0:
            self._fail_checks(cmd, f"exit status {result.rc}")
            raise StepFailed(f"{shlex.join(argv)} failed (exit status {result.rc}): {result.stderr.strip()}")
        if cmd.exports_for:
            self.creds[cmd.exports_for] = parse_exports(result.stdout)
        for fact, path in cmd.save.items():
            optional = path.endswith("?")
            path = path.removesuffix("?")
            if path.startswith("re:"):
                m = re.search(path[3:], result.stdout)
                self.facts[fact] = m.group(1) if m else None
            else:
                self.facts[fact] = result.stdout.strip() if path == "" else dig(result.data, path)
            if not self.facts[fact] and not optional:
                raise StepFailed(f"no {fact} in the output of {shlex.join(argv)}")
        for outcome, check in cmd.checks:
            problem = check(result, self.facts)
            if problem is None:
                if self.held[outcome] is None:  # several commands may confirm one outcome: say it once
                    self.p.ok(OUTCOMES[outcome])
                self.held[outcome] = self.held[outcome] is not False
            else:
                self.held[outcome] = False
                self.failures[outcome] = problem
                self.p.fail(f"{OUTCOMES[outcome]}: {problem}")
        if cmd.expect_error is not None and result.error_code() != cmd.expect_error and not cmd.checks:
            raise StepFailed(f"expected {cmd.expect_error}, got exit {result.rc} {result.error_code()}")
        return result

    def _fail_checks(self, cmd: Command, why: str) -> None:
        for outcome, _ in cmd.checks:
            self.held[outcome] = False
            self.failures[outcome] = why
