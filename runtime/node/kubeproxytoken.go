package node

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The kube-proxy of each instance (kubeproxy.go) talks to the API server
// with a token of its own ServiceAccount, written into the instance's
// config-file volume at creation. The runtime replaces it before it
// expires: UpdateContainerGroup with that one volume, content and all
// (ECI takes a ConfigFileVolume's files as a whole). The kubeconfig reads
// the token from its file (client-go re-reads a tokenFile), so kube-proxy
// needs no restart for it. docs/runtime.md, "Cluster IP access", says what
// the instance goes through.

// Annotations recording, on the pod, the times of the token its instance's
// kube-proxy has: the API server's, so a restarted runtime knows when to
// replace it without asking for a token first.
const (
	AnnotationKubeProxyTokenIssued  = "eci-vnode.io/kube-proxy-token-issued"
	AnnotationKubeProxyTokenExpires = "eci-vnode.io/kube-proxy-token-expires"
)

// Event reasons of the refresh; stable, like the others (status.go), with
// the same prefix.
const (
	ReasonKubeProxyTokenRefreshed     = "ECIKubeProxyTokenRefreshed"
	ReasonKubeProxyTokenRefreshFailed = "ECIKubeProxyTokenRefreshFailed"
)

const (
	// kubeProxyTokenRefreshAt is the share of a token's granted lifetime
	// after which it is replaced, as the kubelet replaces projected tokens
	// at 80 %: early enough for several retries before it expires, late
	// enough that a year's token is replaced once in ten months.
	kubeProxyTokenRefreshAt = 0.8
	// kubeProxyTokenRetryBase and kubeProxyTokenRetryMax space the retries
	// of a failed refresh (doubling).
	kubeProxyTokenRetryBase = 30 * time.Second
	kubeProxyTokenRetryMax  = 10 * time.Minute
	// kubeProxyTokenBatch is the most refreshes of one pass, and
	// kubeProxyTokenPass the time between passes: instances created
	// together come due together, and their refreshes must not spend the
	// account's UpdateContainerGroup quota (1000 a minute, shared with
	// everything else the account runs): at most 120 a minute.
	kubeProxyTokenBatch = 10
	kubeProxyTokenPass  = 5 * time.Second
)

// proxyToken is what the runtime knows of a pod's kube-proxy token beside
// the pod's annotations: the times of the token it last sent, which a pod
// copy from a lagging informer may not show yet, and the back-off of
// failed refreshes.
type proxyToken struct {
	refresh, expiry time.Time // of the last token sent; zero: none yet
	failures        int       // failed refreshes since the last success
	next            time.Time // no attempt before
}

// kubeProxyTokenAnnotations are the annotations recording tok's times.
func kubeProxyTokenAnnotations(tok translate.Token) map[string]string {
	if tok.Expiry.IsZero() {
		return nil
	}
	ann := map[string]string{AnnotationKubeProxyTokenExpires: tok.Expiry.UTC().Format(time.RFC3339)}
	if !tok.IssuedAt.IsZero() {
		ann[AnnotationKubeProxyTokenIssued] = tok.IssuedAt.UTC().Format(time.RFC3339)
	}
	return ann
}

// kubeProxyTokenRefreshTime is when the pod's kube-proxy token is due for
// replacement, from its annotations; false when the pod records none (no
// kube-proxy, or an instance made before this runtime recorded them). A
// token without its issue time counts from the pod's creation, which is no
// later than the issue: the refresh then comes early rather than late.
func kubeProxyTokenRefreshTime(pod *corev1.Pod) (refresh, expiry time.Time, ok bool) {
	expiry, err := time.Parse(time.RFC3339, pod.Annotations[AnnotationKubeProxyTokenExpires])
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	issued, err := time.Parse(time.RFC3339, pod.Annotations[AnnotationKubeProxyTokenIssued])
	if err != nil || issued.After(expiry) {
		issued = pod.CreationTimestamp.Time
	}
	return refreshTime(issued, expiry), expiry, true
}

// refreshTime is kubeProxyTokenRefreshAt of the way from issued to expiry.
func refreshTime(issued, expiry time.Time) time.Time {
	return issued.Add(time.Duration(float64(expiry.Sub(issued)) * kubeProxyTokenRefreshAt))
}

// startKubeProxyTokenRefresh starts the loop that replaces kube-proxy
// tokens, with cluster IP access on. It is started by the poller and ends
// with ctx; Wait waits for it.
func (p *Provider) startKubeProxyTokenRefresh(ctx context.Context) {
	if !p.cfg.ClusterIPAccess {
		return
	}
	p.workers.Add(1)
	go func() {
		defer p.workers.Done()
		tick := time.NewTicker(kubeProxyTokenPass)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				p.refreshKubeProxyTokens(ctx)
			}
		}
	}()
}

// dueToken is a pod whose kube-proxy token is to be replaced.
type dueToken struct {
	t          *tracked
	pod        *corev1.Pod
	instanceID string
	expiry     time.Time
}

// refreshKubeProxyTokens replaces the kube-proxy tokens that are due, the
// ones expiring first first, at most kubeProxyTokenBatch of them, and
// returns how many it tried.
func (p *Provider) refreshKubeProxyTokens(ctx context.Context) int {
	now := p.now()
	var due []dueToken
	p.mu.Lock()
	if p.proxyTokens == nil {
		p.proxyTokens = map[types.UID]*proxyToken{}
	}
	for uid := range p.proxyTokens {
		if _, ok := p.byUID[uid]; !ok {
			delete(p.proxyTokens, uid)
		}
	}
	for uid, t := range p.byUID {
		// Only a running instance: ECI updates Pending and Running ones, and
		// a Pending pod's instance may still be Scheduling; one in another
		// transition (Restarting, Updating) waits for its end rather than
		// being refused. A finished pod (its kube-proxy may still run)
		// reaches no Service any more.
		if t.state != stateCreated || t.instanceID == "" || t.pod.Status.Phase != corev1.PodRunning ||
			t.transitional || !translate.KubeProxyTokenRefreshed(t.pod) {
			continue
		}
		refresh, expiry, ok := kubeProxyTokenRefreshTime(t.pod)
		s := p.proxyTokens[uid]
		if s != nil && s.expiry.After(expiry) {
			refresh, expiry, ok = s.refresh, s.expiry, true
		}
		if !ok || now.Before(refresh) || (s != nil && now.Before(s.next)) {
			continue
		}
		due = append(due, dueToken{t: t, pod: t.pod.DeepCopy(), instanceID: t.instanceID, expiry: expiry})
	}
	p.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].expiry.Before(due[j].expiry) })
	if len(due) > kubeProxyTokenBatch {
		due = due[:kubeProxyTokenBatch]
	}
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		p.refreshKubeProxyToken(ctx, d)
	}
	return len(due)
}

// refreshKubeProxyToken replaces one instance's kube-proxy volume with one
// holding a fresh token (and the API server address and CA of now).
func (p *Provider) refreshKubeProxyToken(ctx context.Context, d dueToken) {
	tok, err := p.updateKubeProxyVolume(ctx, d)
	if ctx.Err() != nil {
		return
	}
	uid := d.pod.UID
	p.mu.Lock()
	r := p.proxyTokens[uid]
	if r == nil {
		r = &proxyToken{}
		p.proxyTokens[uid] = r
	}
	if err != nil {
		r.failures++
		delay := min(kubeProxyTokenRetryBase<<min(r.failures-1, 10), kubeProxyTokenRetryMax)
		r.next = p.now().Add(delay)
		attempt := r.failures
		p.mu.Unlock()
		p.metrics.kubeProxyTokenRefreshes.WithLabelValues("error").Inc()
		p.log.Warn("cannot replace the kube-proxy token of an instance", "pod", podKey(d.pod.Namespace, d.pod.Name),
			"instance", d.instanceID, "attempt", attempt, "retryIn", delay, "err", oneLine(err))
		p.event(d.t, corev1.EventTypeWarning, ReasonKubeProxyTokenRefreshFailed, fmt.Sprintf(
			"replacing the token of the kube-proxy in ECI instance %s failed (attempt %d, retrying in %s): %v; the current token expires at %s, and from then on the instance's kube-proxy no longer follows Service and endpoint changes",
			d.instanceID, attempt, delay, err, d.expiry.UTC().Format(time.RFC3339)))
		return
	}
	r.failures, r.next = 0, time.Time{}
	r.refresh, r.expiry = refreshTime(tok.IssuedAt, tok.Expiry), tok.Expiry
	if tok.IssuedAt.IsZero() {
		r.refresh = refreshTime(p.now(), tok.Expiry)
	}
	// The instance is Updating now: read it in the next round.
	p.readSoon[d.instanceID] = true
	p.mu.Unlock()
	p.annotate(ctx, d.pod, kubeProxyTokenAnnotations(tok))
	p.metrics.kubeProxyTokenRefreshes.WithLabelValues("refreshed").Inc()
	p.log.Info("replaced the kube-proxy token of an instance", "pod", podKey(d.pod.Namespace, d.pod.Name),
		"instance", d.instanceID, "expires", tok.Expiry)
	p.event(d.t, corev1.EventTypeNormal, ReasonKubeProxyTokenRefreshed, fmt.Sprintf(
		"replaced the token of the kube-proxy in ECI instance %s, which expires at %s; the new one expires at %s",
		d.instanceID, d.expiry.UTC().Format(time.RFC3339), tok.Expiry.UTC().Format(time.RFC3339)))
	p.pollSoon()
}

// updateKubeProxyVolume requests the token and sends the volume.
func (p *Provider) updateKubeProxyVolume(ctx context.Context, d dueToken) (translate.Token, error) {
	vnode, err := p.translationVNode(ctx)
	if err != nil {
		return translate.Token{}, fmt.Errorf("cluster IP access: %w", err)
	}
	vol, tok, err := translate.KubeProxyVolume(ctx, d.pod, vnode, p.resolver)
	if err != nil {
		return translate.Token{}, err
	}
	if tok.Expiry.IsZero() {
		// Without it the next refresh could not be planned.
		return translate.Token{}, fmt.Errorf("the API server did not say when the new kube-proxy token expires")
	}
	err = p.eci.UpdateContainerGroup(ctx, &eci.UpdateContainerGroupRequest{
		ContainerGroupID: d.instanceID,
		// One token per attempt: the client's own retries of this call
		// reuse it, so ECI applies the update once.
		ClientToken: "kpt-" + string(d.pod.UID) + "-" + strconv.FormatInt(tok.Expiry.Unix(), 10),
		// Only this volume: the containers and the other volumes stay as
		// they are.
		UpdateType: eci.UpdateTypeIncremental,
		Volumes:    []eci.Volume{vol},
	})
	if err != nil {
		return translate.Token{}, fmt.Errorf("UpdateContainerGroup: %w", err)
	}
	return tok, nil
}
