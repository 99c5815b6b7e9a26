"""A real node beside the local control plane: containerd, kubelet and kube-proxy running real pods."""
