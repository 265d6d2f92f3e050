package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// Event reasons on the eci-profile ConfigMap.
const (
	ReasonInvalidProfile = "InvalidProfile"
	ReasonProfileLoaded  = "ProfileLoaded"
)

// maxEventMessage keeps Event messages within what the API server stores comfortably.
const maxEventMessage = 1000

// loadedProfile is one version of the eci-profile in use.
type loadedProfile struct {
	matcher         *profile.Matcher
	resourceVersion string // of the ConfigMap it came from; "" when there is none
	selectors       []string
}

// profileStore holds the eci-profile in use and swaps it when the ConfigMap changes.
// Readers (every admission request) never lock: they load one immutable pointer.
type profileStore struct {
	cur      atomic.Pointer[loadedProfile]
	metrics  *Metrics
	log      *slog.Logger
	recorder record.EventRecorder // nil: no Events

	mu         sync.Mutex // serialises updates
	rejectedRV string     // resourceVersion last reported as invalid
}

func newProfileStore(m *Metrics, log *slog.Logger, rec record.EventRecorder) *profileStore {
	s := &profileStore{metrics: m, log: log, recorder: rec}
	empty, _ := profile.Compile(&profile.Profile{})
	s.cur.Store(&loadedProfile{matcher: empty})
	m.configValid.Set(1)
	return s
}

// current returns the profile in use; never nil.
func (s *profileStore) current() *loadedProfile { return s.cur.Load() }

// update reads a new version of the ConfigMap. A malformed one is reported (Warning
// Event on the ConfigMap, log line, metrics) and ignored: the last good profile stays.
func (s *profileStore) update(cm *corev1.ConfigMap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur.Load()
	if cm.ResourceVersion != "" && (cm.ResourceVersion == cur.resourceVersion || cm.ResourceVersion == s.rejectedRV) {
		return // an informer resync of a version already handled
	}
	m, names, err := compileConfigMap(cm)
	if err != nil {
		s.rejectedRV = cm.ResourceVersion
		problems := describeProblems(err)
		s.metrics.configErrors.Inc()
		s.metrics.configValid.Set(0)
		kept := "no selectors, as no valid version was seen yet"
		if cur.resourceVersion != "" {
			kept = fmt.Sprintf("the last good version (resourceVersion %s, %d selectors)", cur.resourceVersion, cur.matcher.Len())
		}
		s.log.Warn("eci-profile is invalid; keeping the last good version", "configmap", profile.ConfigMapNamespace+"/"+profile.ConfigMapName,
			"resourceVersion", cm.ResourceVersion, "kept", kept, "problems", strings.Join(problems, "; "))
		if s.recorder != nil {
			msg := fmt.Sprintf("eci-profile is invalid and not used; new pods get %s. Problems: %s", kept, strings.Join(problems, "; "))
			s.recorder.Event(cm, corev1.EventTypeWarning, ReasonInvalidProfile, truncate(msg, maxEventMessage))
		}
		return
	}
	s.rejectedRV = ""
	s.cur.Store(&loadedProfile{matcher: m, resourceVersion: cm.ResourceVersion, selectors: names})
	s.metrics.configValid.Set(1)
	s.metrics.selectors.Set(float64(m.Len()))
	s.log.Info("eci-profile loaded", "resourceVersion", cm.ResourceVersion, "selectors", strings.Join(names, ","))
	if s.recorder != nil {
		msg := fmt.Sprintf("eci-profile loaded with %d selectors: %s", len(names), strings.Join(names, ", "))
		s.recorder.Event(cm, corev1.EventTypeNormal, ReasonProfileLoaded, truncate(msg, maxEventMessage))
	}
}

// remove handles the deletion of the ConfigMap: without a profile no pod is routed.
func (s *profileStore) remove() {
	s.mu.Lock()
	defer s.mu.Unlock()
	empty, _ := profile.Compile(&profile.Profile{})
	s.cur.Store(&loadedProfile{matcher: empty})
	s.rejectedRV = ""
	s.metrics.configValid.Set(1)
	s.metrics.selectors.Set(0)
	s.log.Info("eci-profile ConfigMap deleted; no pods are routed to VNodes by profile")
}

func compileConfigMap(cm *corev1.ConfigMap) (*profile.Matcher, []string, error) {
	p, err := profile.Parse(cm.Data)
	if err != nil {
		return nil, nil, err
	}
	m, err := profile.Compile(p)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(p.Selectors))
	for i, s := range p.Selectors {
		names[i] = s.Name
	}
	return m, names, nil
}

// describeProblems lists every problem of a profile error, one string each.
func describeProblems(err error) []string {
	var ps profile.Problems
	if errors.As(err, &ps) && len(ps) > 0 {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Error()
		}
		return out
	}
	return []string{err.Error()}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
