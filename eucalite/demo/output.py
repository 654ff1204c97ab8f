"""How the demo prints: sections, `$ command` lines with their output, checks, and the final summary."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from typing import TextIO

from eucalite.demo.scenario import OUTCOMES


class OutputClosed(Exception):
    """Whoever read the demo's output has gone (`eucalite demo | head`): the walkthrough stops, and the
    clean-up (the instance, the cloud the demo started) still runs, silently."""


class Printer:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.closed = False  # the reader went away; nothing is printed any more
        color = out.isatty()
        self.bold = (lambda s: f"\033[1m{s}\033[0m") if color else (lambda s: s)
        self.green = (lambda s: f"\033[32m{s}\033[0m") if color else (lambda s: s)
        self.red = (lambda s: f"\033[31m{s}\033[0m") if color else (lambda s: s)
        self.dim = (lambda s: f"\033[2m{s}\033[0m") if color else (lambda s: s)

    def line(self, text: str = "") -> None:
        if self.closed:
            return
        try:
            print(text, file=self.out, flush=True)
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed in this process
            self.closed = True
            # What is still buffered goes to /dev/null, so flushing at exit raises nothing either.
            with contextlib.suppress(OSError, ValueError, AttributeError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out.fileno())
                os.close(devnull)
            raise OutputClosed from None

    def section(self, title: str) -> None:
        self.line()
        self.line(self.bold(f"== {title} =="))

    def comment(self, text: str) -> None:
        self.line(self.dim(f"# {text}"))

    def command(self, argv: list[str], redirect: str | None = None) -> None:
        text = shlex.join(argv)
        self.line(self.bold("$ " + text + (f" > {redirect}" if redirect else "")))

    def output(self, text: str) -> None:
        text = text.rstrip("\n")
        if text:
            self.line(text)

    def file(self, name: str, content: str) -> None:
        self.command(["cat", name])
        self.output(content)

    def ok(self, text: str) -> None:
        self.line(self.green(f"  ✓ {text}"))

    def fail(self, text: str) -> None:
        self.line(self.red(f"  ✗ {text}"))

    def summary(self, held: dict[str, bool | None], failures: dict[str, str]) -> None:
        self.section("Outcome")
        for key, label in OUTCOMES.items():
            state = held.get(key)
            if state:
                self.ok(label)
            else:
                self.fail(f"{label}: {failures.get(key) or 'not reached'}")
