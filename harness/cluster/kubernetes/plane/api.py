"""A small typed client of the local API server (httpx, the admin's client certificate): server-side apply of any
object (its resource found by discovery), get, create, and a pod's service-account token.

Server-side apply is what ``kubectl apply --server-side`` does: ``PATCH`` with ``application/apply-patch+yaml``,
a field manager, ``force``, and ``dryRun=All`` for a dry run (the API server validates, defaults, runs admission,
webhooks included, and stores nothing).

Not the backend's client (``harness.cluster.kubernetes.client``): the two overlap only in server-side apply. The
plane needs what the backend never does (dry runs, discovery refreshed after its CRDs, TokenRequest, raw GETs of
/readyz and of any path its checks and tests read, as JSON); the backend needs the official client's exec and
port-forward streams and typed views. They share the field manager (``FIELD_MANAGER``), so an object either one
applies has the same owner.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.cluster.kubernetes.api import FIELD_MANAGER
from harness.cluster.kubernetes.plane.pki import Pki, User
from harness.errors import ClusterError

Resource = dict[str, Any]


class ApiError(ClusterError):
    """The API server refused a request; the message names the object and quotes the server."""


@dataclass(frozen=True, slots=True)
class Kind:
    plural: str
    namespaced: bool


@dataclass
class Api:
    server: str
    pki: Pki
    user: User
    timeout: float = 30.0
    _kinds: dict[tuple[str, str], Kind] = field(default_factory=dict)
    _http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
            context.load_cert_chain(str(self.pki.client_cert(self.user)), str(self.pki.client_key(self.user)))
            self._http = httpx.Client(base_url=self.server, verify=context, timeout=self.timeout)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"{method} {path}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(f"{method} {path}: {response.status_code} {_message(response)}")
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def exists(self, path: str) -> bool:
        return self.http.get(path).status_code == 200

    def kind(self, api_version: str, kind: str, *, refresh: bool = False) -> Kind:
        """The resource that serves ``kind`` in ``api_version`` (discovery, cached; refreshed after new CRDs)."""
        key = (api_version, kind)
        if key not in self._kinds or refresh:
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            for res in self.get(base)["resources"]:
                if "/" not in res["name"]:
                    self._kinds[(api_version, res["kind"])] = Kind(res["name"], res["namespaced"])
        if key not in self._kinds:
            raise ApiError(f"the API server serves no {kind} in {api_version}")
        return self._kinds[key]

    def path(self, doc: Resource) -> str:
        api_version, meta = doc["apiVersion"], doc["metadata"]
        kind = self.kind(api_version, doc["kind"])
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        where = f"/namespaces/{meta['namespace']}" if kind.namespaced else ""
        return f"{base}{where}/{kind.plural}/{meta['name']}"

    def apply(self, doc: Resource, *, dry_run: bool = False) -> Resource:
        """Server-side apply ``doc``; what the API server stored (or would store, for a dry run)."""
        params = {"fieldManager": FIELD_MANAGER, "force": "true", **({"dryRun": "All"} if dry_run else {})}
        headers = {"Content-Type": "application/apply-patch+yaml"}
        try:
            result: Resource = self.request(
                "PATCH", self.path(doc), params=params, headers=headers, content=json.dumps(doc)
            )
        except ApiError as exc:
            what = f"{doc['kind']} {doc['metadata'].get('namespace', '')}/{doc['metadata']['name']}"
            raise ApiError(f"{'dry-run ' if dry_run else ''}apply of {what} refused: {exc}") from exc
        return result

    def service_account_token(self, namespace: str, account: str, pod: Resource, audiences: list[str]) -> str:
        """A token of ``account`` bound to ``pod`` (TokenRequest), for ``audiences``."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "audiences": audiences,
                "expirationSeconds": 7 * 24 * 3600,
                "boundObjectRef": {
                    "kind": "Pod",
                    "apiVersion": "v1",
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            },
        }
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
        return str(self.request("POST", path, json=body)["status"]["token"])


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:500]


def read_yaml_documents(path: Path) -> list[Resource]:
    import yaml

    return [d for d in yaml.safe_load_all(path.read_text()) if d]
