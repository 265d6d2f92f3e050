// Package sandbox is the local stand-in for a Kubernetes cluster that the project's tests,
// `make demo` and the docs build run against: a real etcd, kube-apiserver, kube-scheduler and
// kube-controller-manager (v1.37.2, built from the Go module proxy), generated PKI with RBAC
// and Node authorization on, and ordinary worker nodes simulated in-process that run pods of
// the bundled runtime image as local eci-vnode processes.
//
// Three entry points matter:
//
//   - EnsureTools builds or reuses the binaries (control plane, Terraform 1.5.7, eci-vnode)
//     in a version-keyed cache outside the repository.
//   - Start brings a sandbox up in a directory and returns a handle; Stop tears it down and
//     leaves no process or port behind.
//   - StartForTest does both for a test and registers the cleanup.
//
// The eci-sandbox command (internal/sandbox/cmd/eci-sandbox) wraps the same API for the
// GNUmakefile: `tools`, `up` and `down`.
package sandbox
