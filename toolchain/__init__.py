"""How onceonly gets a real Dapr (and a Kubernetes control plane): the tables of versions, the wrapper Go
modules, the build caches.

This is onceonly's own package, not the Dapr Python SDK (which onceonly does not use).

- ``toolchain.versions``: the table of versions onceonly can build (one entry per version);
- ``toolchain.wrapper``: the per-version wrapper Go module and the version-stamping linker flags;
- ``toolchain.build``: the build into the per-version cache, with progress and honest errors;
- ``toolchain.binaries``: which daprd and scheduler a run uses (``--dapr-bin-dir``, ``~/.dapr/bin``, the cache).
- ``toolchain.gocmd``: running Go for every build (environment, version check, download, streamed build);
- ``toolchain.kube``, ``kube_wrapper``, ``kube_build``: the local Kubernetes control plane, built the same way.
"""
