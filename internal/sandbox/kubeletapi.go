package sandbox

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// kubeletAPI is the small part of a kubelet's HTTPS API a worker serves so that
// `kubectl logs` works on pods it runs: GET /containerLogs/{ns}/{pod}/{container} (with
// follow, tailLines and limitBytes) and /healthz. It listens on the node's own IP at a
// random port, published in the Node's daemonEndpoints, and accepts only client
// certificates of the sandbox CA (the apiserver's kubelet client).
type kubeletAPI struct {
	node *workerNode
	srv  *http.Server
	ln   net.Listener
}

// startKubeletAPI binds the node's IP (the listener is held, so no port race) and serves.
func startKubeletAPI(n *workerNode) (*kubeletAPI, error) {
	s := n.pool.s
	kp, err := s.ca.issue(certRequest{CommonName: n.name, DNSNames: []string{n.name}, IPs: []net.IP{net.ParseIP(n.ip)}, Server: true})
	if err != nil {
		return nil, fmt.Errorf("issue kubelet serving cert: %w", err)
	}
	cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("load kubelet serving cert: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.caPEM)
	ln, err := tls.Listen("tcp", net.JoinHostPort(n.ip, "0"), &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		return nil, fmt.Errorf("listen for the kubelet API on %s: %w", n.ip, err)
	}
	k := &kubeletAPI{node: n, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.containerLogs)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("%s is not served by the sandbox's worker nodes (only /containerLogs)", r.URL.Path), http.StatusNotImplemented)
	})
	k.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = k.srv.Serve(ln) }()
	return k, nil
}

// port is where the API listens.
func (k *kubeletAPI) port() int { return k.ln.Addr().(*net.TCPAddr).Port }

func (k *kubeletAPI) stop(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := k.srv.Shutdown(sctx); err != nil {
		k.srv.Close()
	}
}

// containerLogs streams a container's log file, the way the kubelet serves `kubectl logs`.
func (k *kubeletAPI) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	path, err := k.logFile(ns, pod, container)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		// A stand-in container, or one that has not started: it has written nothing.
		w.Header().Set("Content-Type", "text/plain")
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n >= 0 {
		if err := seekTailLines(f, n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	var out io.Writer = w
	if n, err := strconv.ParseInt(q.Get("limitBytes"), 10, 64); err == nil && n > 0 {
		out = &limitWriter{w: w, left: n}
	}
	w.Header().Set("Content-Type", "text/plain")
	if _, err := io.Copy(out, f); err != nil {
		return
	}
	if q.Get("follow") != "true" {
		return
	}
	flusher, _ := w.(http.Flusher)
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		if _, err := io.Copy(out, f); err != nil {
			return
		}
	}
}

// logFile finds the newest log of a container of a pod on this node (a pod recreated with the
// same name has a new directory).
func (k *kubeletAPI) logFile(ns, pod, container string) (string, error) {
	for _, s := range []string{ns, pod, container} {
		if s == "" || strings.ContainsAny(s, `/\`) || s == "." || s == ".." {
			return "", fmt.Errorf("invalid name %q", s)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(k.node.pool.s.path("pods"), ns+"_"+pod+"_*"))
	if len(dirs) == 0 {
		return "", fmt.Errorf("pod %s/%s has not run on node %s", ns, pod, k.node.name)
	}
	sort.Slice(dirs, func(i, j int) bool { return modTime(dirs[i]).After(modTime(dirs[j])) })
	return filepath.Join(dirs[0], container+".log"), nil
}

func modTime(path string) time.Time {
	st, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// seekTailLines positions f at the start of its last n lines.
func seekTailLines(f *os.File, n int) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var offsets []int64
	var off int64
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			offsets = append(offsets, off)
			off += int64(len(line))
		}
		if err != nil {
			break
		}
	}
	var start int64
	switch {
	case n == 0:
		start = off
	case n < len(offsets):
		start = offsets[len(offsets)-n]
	}
	_, err := f.Seek(start, io.SeekStart)
	return err
}

// limitWriter stops writing after a byte budget (limitBytes).
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	if err == nil && l.left <= 0 {
		err = io.EOF
	}
	return n, err
}
