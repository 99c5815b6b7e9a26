"""Every image the Kubernetes tier needs, built here as OCI archives (no registry is reachable): a small OCI
image-layout writer (``blobs``, ``layer``, ``oci``), where layers come from (``trees``, ``debian``), the recipes
(``dapr``, ``redis``, ``recorder``), their cache by content key (``cache``) and the whole set (``catalog``)."""
