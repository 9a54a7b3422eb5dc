# Pinned versions of the Go-built test infrastructure. One source for build.sh and binaries.ts.
# Changing a version changes the cache folder, so the next run rebuilds only that component.
KUBERNETES_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
# Gitea: the newest release whose go.mod still names code.gitea.io/gitea (1.27 moved to gitea.dev).
GITEA_VERSION=v1.26.0
# Flux's apply engine, driven by bench/flux for `npm run bench` (needs Go 1.27: GOTOOLCHAIN=go1.27.3).
FLUX_SSA_VERSION=v0.83.0
