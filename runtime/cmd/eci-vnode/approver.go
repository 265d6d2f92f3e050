package main

import (
	"context"
	"io"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/eci-vnode/terraform-provider-eci/runtime/approver"
	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook"
)

// approverCommand runs `eci-vnode approver`: it approves the kubelet certificates of the
// VNodes installed in --namespace and denies impostors (runtime/approver).
func approverCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	s := newSettings("eci-vnode approver")
	fs := s.fs
	namespace := getenv("POD_NAMESPACE")
	if namespace == "" {
		namespace = webhook.DefaultNamespace
	}
	var configFile, kubeconfig, logLevel, logFormat string
	fs.StringVar(&configFile, "config", "", "optional YAML file of settings; keys are these flag names")
	fs.StringVar(&namespace, "namespace", namespace, "namespace of the installation whose VNodes' certificates are approved ($POD_NAMESPACE when set)")
	fs.StringVar(&kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster config)")
	fs.StringVar(&logLevel, "log-level", "info", strings.Join(logLevels, ", "))
	fs.StringVar(&logFormat, "log-format", "text", "text (key=value lines) or json (one JSON object a line)")
	s.moreEnv["namespace"] = []string{"POD_NAMESPACE"}
	s.moreEnv["kubeconfig"] = []string{"KUBECONFIG"}
	if s.settle(args, "config", getenv, stdout) {
		return 0
	}
	s.logLevel("log-level", logLevel)
	s.logFormat("log-format", logFormat)
	// CSRs are few: the client's defaults are plenty.
	kube, _ := s.kubeClient("kubeconfig", kubeconfig, 5, 10)
	if code := s.report(stderr); code != 0 {
		return code
	}
	log := newLogger(stderr, logLevel, logFormat)
	klog.SetSlogLogger(log) // client-go's records in the same format
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("starting eci-vnode approver", "version", version, "namespace", namespace)
	if err := (&approver.Controller{Kube: kube, Namespace: namespace, Log: log}).Run(ctx); err != nil {
		log.Error("eci-vnode approver stopped", "err", err)
		return 1
	}
	return 0
}
