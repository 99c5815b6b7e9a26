"""A local Kubernetes control plane on 127.0.0.1 with Dapr's sentry and sidecar injector (``LocalControlPlane``)."""
