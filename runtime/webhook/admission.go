package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Paths the webhook configurations point at.
const (
	PathMutatePods         = "/mutate/pods"
	PathValidatePods       = "/validate/pods"
	PathValidateServices   = "/validate/services"
	PathValidateDaemonSets = "/validate/daemonsets"
)

// maxReviewBytes bounds a request body; the API server's own limit for an object is 3 MiB
// and a review carries at most two copies (object and oldObject).
const maxReviewBytes = 8 << 20

// podsByNamespace is the index of the pod informer the NodePort check reads.
const podsByNamespace = cache.NamespaceIndex

// handler answers admission reviews. Everything it reads comes from informer caches
// (profile, namespaces, nodes, pods), so a request never waits on the API server,
// except for a namespace the cache has not seen yet.
type handler struct {
	profiles   *profileStore
	namespaces corelisters.NamespaceLister
	nodes      corelisters.NodeLister
	pods       cache.Indexer // pods bound to a node, trimmed (see trimPod)
	// getNamespace reads a namespace the cache does not have yet (nil: treat as unlabelled).
	getNamespace func(ctx context.Context, name string) (*corev1.Namespace, error)
	metrics      *Metrics
	log          *slog.Logger
}

// reviewFunc answers one admission request; kind is the metrics label of the object kind.
type reviewFunc func(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// serve turns a reviewFunc into an HTTP handler: read the AdmissionReview, answer it,
// write the AdmissionReview back, count it.
func (h *handler) serve(kind, webhook string, fn reviewFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.Method != http.MethodPost {
			http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
		if err != nil || len(body) > maxReviewBytes {
			h.metrics.observeRequest(kind, webhook, resultError, time.Since(start))
			http.Error(w, "cannot read the admission review", http.StatusBadRequest)
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			h.metrics.observeRequest(kind, webhook, resultError, time.Since(start))
			http.Error(w, "the body is not an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
			return
		}
		resp := fn(r.Context(), review.Request)
		resp.UID = review.Request.UID
		out, err := json.Marshal(admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
			Response: resp,
		})
		if err != nil {
			h.metrics.observeRequest(kind, webhook, resultError, time.Since(start))
			http.Error(w, "encode the admission response", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		h.metrics.observeRequest(kind, webhook, resultOf(resp), time.Since(start))
	}
}

func resultOf(resp *admissionv1.AdmissionResponse) string {
	switch {
	case !resp.Allowed:
		return resultDenied
	case len(resp.Patch) > 0:
		return resultPatched
	case len(resp.Warnings) > 0:
		return resultWarned
	case resp.Result != nil && resp.Result.Reason == metav1.StatusReasonBadRequest:
		return resultError
	}
	return resultAllowed
}

func allow() *admissionv1.AdmissionResponse { return &admissionv1.AdmissionResponse{Allowed: true} }

// allowUnreadable lets a request through that the webhook cannot read: a broken or
// unexpected object is the API server's to judge, never a reason to block it here.
func (h *handler) allowUnreadable(req *admissionv1.AdmissionRequest, err error) *admissionv1.AdmissionResponse {
	h.log.Warn("cannot decode the object of an admission request; allowing it unchanged",
		"kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "err", err)
	return &admissionv1.AdmissionResponse{Allowed: true, Result: &metav1.Status{
		Status: metav1.StatusSuccess, Reason: metav1.StatusReasonBadRequest, Message: "eci-vnode could not read the object: " + err.Error(),
	}}
}

func deny(msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: msg,
	}}
}

// decodePod reads the pod of a pod CREATE; the namespace comes from the request when the
// object lacks it (it usually does).
func decodePod(req *admissionv1.AdmissionRequest) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	return pod, nil
}

// namespaceLabels returns the labels of the namespace, from the cache or, for one it has
// not seen yet, from the API server. Failing both, it returns nil: the profile still
// matches by name (kubernetes.io/metadata.name).
func (h *handler) namespaceLabels(ctx context.Context, name string) map[string]string {
	ns, err := h.namespaces.Get(name)
	if err == nil {
		return ns.Labels
	}
	if apierrors.IsNotFound(err) && h.getNamespace != nil {
		if ns, err = h.getNamespace(ctx, name); err == nil {
			return ns.Labels
		}
	}
	h.log.Warn("cannot read the labels of a namespace; matching it by name only", "namespace", name, "err", err)
	return nil
}

// isVNodeName reports whether the node called name is a VNode (an unknown node is not).
func (h *handler) isVNodeName(name string) bool {
	n, err := h.nodes.Get(name)
	return err == nil && isVNode(n)
}
