"""Offline validation of rendered manifests: Kubernetes kinds against the 1.37 JSON schemas that
``kubernetes-validate`` ships (strict: an unknown field is an error), Dapr's Component and Configuration against the
``openAPIV3Schema`` of the CRDs in the dapr Go module's Helm chart (made strict the same way: the API server's strict
field validation refuses a field the structural schema does not name). The CRDs are read from the Go module cache
(``go mod download``, the module proxy when not cached); they are not copied into this repository."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES = "1.37.0"
DAPR_MODULE = "github.com/dapr/dapr@v1.18.2"
DAPR_KINDS = {"Component": "components.yaml", "Configuration": "configuration.yaml"}


class Invalid(Exception):
    pass


@functools.cache
def dapr_crd_dir() -> Path:
    go = shutil.which("go")
    if go is None:
        raise Invalid("the go tool is not on PATH: it fetches Dapr's CRDs (go mod download) for this test")
    with tempfile.TemporaryDirectory() as cwd:  # outside any module: go.mod files around must not matter
        done = subprocess.run(
            [go, "mod", "download", "-json", DAPR_MODULE], cwd=cwd, capture_output=True, text=True, timeout=600
        )
    if done.returncode != 0:
        raise Invalid(f"go mod download {DAPR_MODULE} failed: {done.stdout}{done.stderr}")
    return Path(json.loads(done.stdout)["Dir"]) / "charts" / "dapr" / "crds"


def strict(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` on every object that names its properties and does not
    keep unknown fields (``x-kubernetes-preserve-unknown-fields``)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    keeps = out.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in out
    if "properties" in out and not keeps:
        out["additionalProperties"] = False
    return out


@functools.cache
def dapr_schema(kind: str) -> dict[str, Any]:
    crd = yaml.safe_load((dapr_crd_dir() / DAPR_KINDS[kind]).read_text())
    assert crd["spec"]["names"]["kind"] == kind
    (version,) = [v for v in crd["spec"]["versions"] if v["served"] and v["storage"]]
    assert f"{crd['spec']['group']}/{version['name']}" == "dapr.io/v1alpha1"
    return strict(version["schema"]["openAPIV3Schema"])  # type: ignore[no-any-return]


def validate(doc: dict[str, Any]) -> None:
    """Raise ``Invalid`` naming the resource and the problem, if Kubernetes 1.37 (or Dapr's CRD) would refuse it."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    try:
        if doc.get("kind") in DAPR_KINDS and doc.get("apiVersion") == "dapr.io/v1alpha1":
            jsonschema.Draft7Validator(dapr_schema(doc["kind"])).validate(doc)
            # a CRD's metadata is {type: object}: check it as the ObjectMeta it is, on a kind that has one
            kubernetes_validate.validate(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc["metadata"]}, KUBERNETES, strict=True
            )
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    except (jsonschema.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
        raise Invalid(f"{where}: {getattr(exc, 'message', exc)}") from None
