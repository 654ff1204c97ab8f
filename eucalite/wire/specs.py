"""Service models: botocore's own JSON for iam, sts and ec2, plus eucalite's Eucalyptus extras.

The models are the single source of the wire format: parameter names, list/structure encoding,
validation constraints and response element names all come from here.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

from eucalite.wire import patterns

log = logging.getLogger("eucalite.wire")
_EXTRAS = {"iam": "euare-extras.json"}

# Versions older clients (euca2ools, Eucalyptus 3.4 era tools) send; EC2 answers them with the same model.
EC2_ACCEPTED_VERSIONS = frozenset(
    {"2016-11-15", "2014-10-01", "2014-06-15", "2013-10-15", "2013-08-15", "2013-06-15", "2013-02-01",
     "2012-12-01", "2012-07-20", "2012-06-01", "2012-03-01", "2011-01-01", "2010-08-31", "2009-11-30"}
)


@dataclass(frozen=True)
class Service:
    name: str  # "iam" | "sts" | "ec2"
    model: ServiceModel

    @property
    def protocol(self) -> str:
        return str(self.model.metadata["protocol"])

    @property
    def api_version(self) -> str:
        return str(self.model.api_version)

    @property
    def xml_namespace(self) -> str:
        ns = self.model.metadata.get("xmlNamespace")
        if ns:
            return str(ns)
        return f"https://{self.name}.amazonaws.com/doc/{self.api_version}/"

    def operation(self, name: str) -> OperationModel | None:
        try:
            return self.model.operation_model(name)
        except Exception:  # botocore raises OperationNotFoundError
            return None

    @functools.cached_property
    def operation_names(self) -> frozenset[str]:
        return frozenset(self.model.operation_names)


def _merge(base: dict, extras: dict) -> dict:
    merged = copy.deepcopy(base)
    merged["operations"].update(extras.get("operations", {}))
    merged["shapes"].update(extras.get("shapes", {}))
    return merged


def raw_model(name: str) -> dict:
    raw = Loader().load_service_model(name, "service-2")
    extra_file = _EXTRAS.get(name)
    if extra_file:
        raw = _merge(raw, json.loads((Path(__file__).parent / "models" / extra_file).read_text()))
    return raw


@functools.cache
def service(name: str) -> Service:
    raw = raw_model(name)
    for pattern, shapes in unchecked_patterns(raw).items():
        log.warning("%s model: pattern %r of %s cannot be checked in Python (%s); values are not checked "
                    "against it", name, pattern, ", ".join(shapes), patterns.problem(pattern))
    return Service(name, ServiceModel(raw, service_name=name))


def unchecked_patterns(raw: dict) -> dict[str, list[str]]:
    """The model's patterns the request parser cannot check, each with the shapes that carry it."""
    out: dict[str, list[str]] = {}
    for shape_name, shape in raw["shapes"].items():
        pattern = shape.get("pattern")
        if pattern and (pattern in out or patterns.problem(pattern) is not None):
            out.setdefault(pattern, []).append(shape_name)
    return out


def _model_stamp(name: str) -> str:
    """What the merged model written for ``name`` depends on, cheaply: botocore's version, the file it
    loads the model from (path, size, mtime) and the extras file's SHA-256. Computing it reads no model."""
    import botocore

    loader = Loader()
    version = loader.determine_latest_version(name, "service-2")
    source = "?"
    for root in loader.search_paths:
        for suffix in ("service-2.json", "service-2.json.gz"):
            candidate = Path(root) / name / version / suffix
            if candidate.exists():
                st = candidate.stat()
                source = f"{candidate} {st.st_size} {st.st_mtime_ns}"
                break
        if source != "?":
            break
    extras = hashlib.sha256((Path(__file__).parent / "models" / _EXTRAS[name]).read_bytes()).hexdigest()
    return f"botocore {botocore.__version__}\nmodel {source}\nextras {extras}\n"


def write_client_models(directory: Path) -> Path:
    """Write the merged models where botocore looks (AWS_DATA_PATH), so boto3 and the aws CLI learn the
    Eucalyptus operations (e.g. `aws iam create-account`).

    Serializing the merged model costs tens of milliseconds, so it is only done when the stamp stored
    beside it (``.stamp``: what the model depends on, plus the written file's size and mtime) differs."""
    for name in _EXTRAS:
        stamp_file = directory / name / ".stamp"
        stamp = _model_stamp(name)
        try:
            stored = stamp_file.read_text()
        except OSError:
            stored = ""
        if stored.startswith(stamp):
            target_line = stored[len(stamp):].strip()  # "<path> <size> <mtime_ns>"
            try:
                target = Path(target_line.rsplit(" ", 2)[0])
                st = target.stat()
                if target_line == f"{target} {st.st_size} {st.st_mtime_ns}":
                    continue
            except (OSError, ValueError):
                pass
        raw = raw_model(name)
        target = directory / name / raw["metadata"]["apiVersion"] / "service-2.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(raw)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        st = target.stat()
        stamp_file.write_text(f"{stamp}{target} {st.st_size} {st.st_mtime_ns}\n")
    return directory


SERVICE_NAMES = ("iam", "sts", "ec2")


def all_services() -> list[Service]:
    return [service(n) for n in SERVICE_NAMES]
