"""Sub-commands contributed by other packages (images, metadata, ssh, demo, tui) register here,
so cli.py does not grow with every feature."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

# Each module defines register(subparsers, add_common) and is imported only when the CLI is built.
COMMAND_MODULES: tuple[str, ...] = (
    "eucalite.metadata.cli",
    "eucalite.tui.cli",
    "eucalite.services.ec2.image_cli",
    "eucalite.nodes.ssh_cli",
    "eucalite.demo.cli",
)

Common = Callable[[argparse.ArgumentParser], None]


def register_all(sub: argparse._SubParsersAction, common: Common) -> None:  # type: ignore[type-arg]
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub, common)
