package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// reviewFunc answers one admission request.
type reviewFunc func(ctx context.Context, req *request) *admissionv1.AdmissionResponse

// request is one admission request as the handlers read it: the request's identity and
// operation, and its object — undecoded for Services and DaemonSets, read as a pod's
// podFields on the pod routes (kind "Pod").
type request struct {
	requestHead
	object []byte
	pod    *corev1.Pod
	podErr error // why the pod could not be read; pod is nil then
}

// serve turns a reviewFunc into an HTTP handler: read the AdmissionReview, answer it,
// write the AdmissionReview back, count it.
//
// It is on the path of every pod creation, so it does little beyond that: the body is
// read into a pooled buffer sized by Content-Length, only the request's fields a
// handler reads are decoded (the object stays raw, in that buffer, until the handler
// decodes what it needs of it), and the metrics of the route are looked up once.
func (h *handler) serve(kind, webhook string, fn reviewFunc) http.HandlerFunc {
	obs := h.metrics.route(kind, webhook)
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.Method != http.MethodPost {
			http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
			return
		}
		buf := getBodyBuffer()
		defer putBodyBuffer(buf)
		body, err := readBody(buf, r)
		if err != nil {
			obs.observe(resultError, time.Since(start))
			http.Error(w, "cannot read the admission review", http.StatusBadRequest)
			return
		}
		req, err := decodeReview(body, kind == "Pod")
		if err != nil {
			obs.observe(resultError, time.Since(start))
			http.Error(w, "the body is not an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
			return
		}
		resp := fn(r.Context(), req)
		resp.UID = req.UID
		out, err := json.Marshal(admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
			Response: resp,
		})
		if err != nil {
			obs.observe(resultError, time.Since(start))
			http.Error(w, "encode the admission response", http.StatusInternalServerError)
			return
		}
		w.Header()["Content-Type"] = contentTypeJSON
		_, _ = w.Write(out)
		obs.observe(resultOf(resp), time.Since(start))
	}
}

// contentTypeJSON is the Content-Type header of every answer, allocated once.
var contentTypeJSON = []string{"application/json"}

// requestHead is what the handlers read of an admission request besides its object;
// userInfo, options and oldObject are skipped.
type requestHead struct {
	UID         types.UID               `json:"uid"`
	Kind        metav1.GroupVersionKind `json:"kind"`
	Name        string                  `json:"name"`
	Namespace   string                  `json:"namespace"`
	Operation   admissionv1.Operation   `json:"operation"`
	SubResource string                  `json:"subResource"`
}

// reviewIn is an admission.k8s.io/v1 AdmissionReview whose object is kept undecoded;
// podReviewIn one whose object is read as podFields in the same pass over the body.
// encoding/json reads its input twice (once to check it, once to decode), so reading
// the review and then its object reads the object four times; reading both in one
// Unmarshal halves what a pod review costs.
type reviewIn struct {
	Request *struct {
		requestHead
		Object rawJSON `json:"object"`
	} `json:"request"`
}

type podReviewIn struct {
	Request *struct {
		requestHead
		Object *podFields `json:"object"`
	} `json:"request"`
}

// decodeReview reads an AdmissionReview. With pod, the object is read as a pod: a pod
// the webhook cannot read (a field of podFields of the wrong type) is not an error of
// the review but of the pod, which the handler lets through unread (allowUnreadable).
func decodeReview(body []byte, pod bool) (*request, error) {
	if !pod {
		var review reviewIn
		if err := json.Unmarshal(body, &review); err != nil {
			return nil, err
		}
		if review.Request == nil {
			return nil, errNoRequest
		}
		return &request{requestHead: review.Request.requestHead, object: review.Request.Object}, nil
	}
	var review podReviewIn
	err := json.Unmarshal(body, &review)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !(errors.As(err, &typeErr) && inObject(typeErr.Field)) {
		return nil, err
	}
	if review.Request == nil {
		return nil, errNoRequest
	}
	req := &request{requestHead: review.Request.requestHead}
	switch f := review.Request.Object; {
	case err != nil:
		req.podErr = fmt.Errorf("decode pod: %w", err)
	case f == nil:
		req.podErr = errors.New("decode pod: the request has no object")
	case f.Spec.Containers.notList:
		req.podErr = errors.New("decode pod: spec.containers is not a list")
	default:
		req.pod = f.pod(req.Namespace)
	}
	return req, nil
}

// inObject reports whether the path of a decoding error (as UnmarshalTypeError.Field
// gives it) lies in the request's object.
func inObject(field string) bool {
	const object = "request.object"
	return field == object || strings.HasPrefix(field, object+".")
}

var errNoRequest = errors.New("the AdmissionReview has no request")

// rawJSON keeps a JSON value undecoded, as runtime.RawExtension does (null is no
// value), but without copying it: json.Unmarshal hands UnmarshalJSON a slice of its
// input, the request body, which outlives the handler's use of the object.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = b
	return nil
}

// bodyBuffers recycles request bodies: a pod's review is a few KiB, read on every pod
// creation. Buffers grown past maxPooledBody are left to the garbage collector.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 256 << 10

func getBodyBuffer() *bytes.Buffer { return bodyBuffers.Get().(*bytes.Buffer) }

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}

// readBody reads r's body into buf, at most maxReviewBytes.
func readBody(buf *bytes.Buffer, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > maxReviewBytes {
		return nil, fmt.Errorf("admission review of %d bytes is larger than %d", n, maxReviewBytes)
	} else if n > 0 {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare bytes to see EOF
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, maxReviewBytes+1)); err != nil {
		return nil, fmt.Errorf("read the admission review: %w", err)
	}
	if buf.Len() > maxReviewBytes {
		return nil, fmt.Errorf("admission review is larger than %d bytes", maxReviewBytes)
	}
	return buf.Bytes(), nil
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
func (h *handler) allowUnreadable(req *request, err error) *admissionv1.AdmissionResponse {
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
