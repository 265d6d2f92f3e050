package sandbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeReadiness runs a container's readiness probe against its process, as a kubelet does,
// until done is closed, calling set whenever readiness changes. Runtime pods serve webhooks
// and kubelet APIs; marking them ready before they listen would route traffic to nothing.
//
// httpGet and tcpSocket probes are real; grpc probes check only that the port accepts a
// connection; exec probes cannot run inside a process with no container and count as passing.
func probeReadiness(p *corev1.Probe, c *corev1.Container, podIP string, done <-chan struct{}, set func(bool)) {
	period := secondsOr(p.PeriodSeconds, 10)
	timeout := secondsOr(p.TimeoutSeconds, 1)
	success, failure := intOr(p.SuccessThreshold, 1), intOr(p.FailureThreshold, 3)
	select {
	case <-done:
		return
	case <-time.After(time.Duration(p.InitialDelaySeconds) * time.Second):
	}
	ready := false
	okRun, failRun := 0, 0
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := runProbe(ctx, p.ProbeHandler, c, podIP)
		cancel()
		if err == nil {
			okRun, failRun = okRun+1, 0
			if !ready && okRun >= success {
				ready = true
				set(true)
			}
		} else {
			okRun, failRun = 0, failRun+1
			if ready && failRun >= failure {
				ready = false
				set(false)
			}
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// runProbe performs one probe; nil means success.
func runProbe(ctx context.Context, h corev1.ProbeHandler, c *corev1.Container, podIP string) error {
	switch {
	case h.HTTPGet != nil:
		g := h.HTTPGet
		port, err := probePort(g.Port, c)
		if err != nil {
			return err
		}
		host := g.Host
		if host == "" {
			host = podIP
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), g.Path), nil)
		if err != nil {
			return err
		}
		for _, hd := range g.HTTPHeaders {
			req.Header.Add(hd.Name, hd.Value)
		}
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelets do not verify probe certificates either
		}}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case h.TCPSocket != nil, h.GRPC != nil:
		var port int
		var err error
		host := podIP
		if h.TCPSocket != nil {
			port, err = probePort(h.TCPSocket.Port, c)
			if h.TCPSocket.Host != "" {
				host = h.TCPSocket.Host
			}
		} else {
			port = int(h.GRPC.Port)
		}
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	default: // exec: nothing to exec into
		return nil
	}
}

// probePort resolves a numeric or named container port.
func probePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}

func secondsOr(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func intOr(v, def int32) int {
	if v <= 0 {
		return int(def)
	}
	return int(v)
}
