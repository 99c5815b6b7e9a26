# Sourced by ./run-demo, ./run-tests and .ci/run: install what a fresh Debian machine lacks, or say clearly what
# cannot be installed and how to fix it. Idempotent and quick when everything is there.
#   need_system redis-server [chromium]   Debian packages (apt-get as root; otherwise a message naming them)
#   need_go                               Go on PATH (onceonly builds Dapr from Go modules; versions checked later)
#   need_env                              uv (pip) and the project environment from the committed uv.lock
#   need_dapr [ARGS...]                   the Dapr binaries (default version, or --version V), built once per machine
#                                         into ~/.cache/onceonly/dapr
#   need_kube [ARGS...]                   the local Kubernetes control plane (etcd, kube-*, kwok) and Dapr's sentry
#                                         and injector (`onceonly k8s build`), built once per machine into
#                                         ~/.cache/onceonly/kube
#   need_node                             the Debian packages a real node needs (`onceonly k8s up --node`):
#                                         containerd, runc, CNI plugins, iptables, socat, busybox-static, gcc + libc6-dev,
#                                         and for the images mmdebstrap, umoci, skopeo

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

need_system() {
  local missing=() cmd
  for cmd in "$@"; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  apt_install "${missing[@]}"
}

NODE_PACKAGES=(containerd runc containernetworking-plugins iptables conntrack socat busybox-static gcc libc6-dev iproute2
  mmdebstrap umoci skopeo)  # the last three: the images (a Debian rootfs; the OCI archives checked by two readers)

need_node() {
  # by package, not command: busybox-static and libc6-dev (static glibc for the pause image) add no new command
  local missing=() pkg
  for pkg in "${NODE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  apt_install "${missing[@]}"
}

apt_install() {  # the Debian packages named, as root; otherwise a message naming them, exit 4
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: $* not installed, and this is not root on a Debian-like machine." >&2
    echo "fix: sudo apt-get install -y $*   (then run this command again)" >&2
    exit 4
  fi
  echo "installing $* (apt-get) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need_go() {
  if ! command -v go >/dev/null; then
    echo "error: Go is not installed; onceonly builds Dapr from Go modules and needs Go 1.26.5 or newer." >&2
    echo "fix: install Go from https://go.dev/dl/ (or your package manager) and put it on PATH" >&2
    exit 4
  fi
}

need_env() {
  if ! command -v uv >/dev/null; then
    echo "installing uv (pip) ..."
    python3 -m pip install --quiet uv || {
      echo "error: could not install uv with pip; fix: see https://docs.astral.sh/uv/ and run this again" >&2
      exit 4
    }
  fi
  uv sync --frozen --quiet
}

need_dapr() {
  # `onceonly dapr build` shows its own progress (about 8 minutes on 2 cores the first time) and names the cause
  # when it cannot build (Go too old, module proxy unreachable, a module refused)
  uv run onceonly dapr build "$@"
}

need_kube() {
  # `onceonly k8s build`: the control plane from Go modules (about 9 minutes cold on 2 cores), then Dapr's sentry
  # and injector from the Dapr wrapper module (11 s once daprd is built: they share all but 29 packages; 234 s
  # with an empty Go build cache); a cached no-op takes about 3 s
  uv run onceonly k8s build "$@"
  uv run onceonly k8s dapr build  # helm, for Dapr's chart (about 4.4 min cold; a no-op when built)
  uv run onceonly k8s dns build   # CoreDNS, the cluster's DNS (about 3-7 min cold; a no-op when built)
}
