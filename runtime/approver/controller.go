package approver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// Controller approves or denies the kubelet CSRs of one installation's VNodes.
type Controller struct {
	// Kube is the approver's own client.
	Kube kubernetes.Interface
	// Namespace is the installation's: a VNode is this installation's when its runtime
	// Deployment eci-vnode-<node> runs there, labelled with the node's name.
	Namespace string
	Log       *slog.Logger
}

// Reason is the reason of the conditions the approver sets, shown by `kubectl get csr`.
const Reason = "EciVNodeApprover"

// LabelNode is the label internal/install puts on a VNode's runtime Deployment.
const LabelNode = install.LabelNode

// Run watches CSRs until ctx ends and decides each pending one once; it also gives each
// VNode runtime Deployment of the namespace its bootstrap token.
func (c *Controller) Run(ctx context.Context) error {
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer queue.ShutDown()
	tokens := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer tokens.ShutDown()
	factory := informers.NewSharedInformerFactory(c.Kube, 0)
	csrs := factory.Certificates().V1().CertificateSigningRequests()
	enqueue := func(obj any) {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok && pending(csr) {
			queue.Add(csr.Name)
		}
	}
	if _, err := csrs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return fmt.Errorf("watch certificate signing requests: %w", err)
	}
	// The VNode Deployments, resynced now and then so that a token Secret someone
	// deleted is minted again.
	own := informers.NewSharedInformerFactoryWithOptions(c.Kube, 10*time.Minute, informers.WithNamespace(c.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelNode }))
	deployments := own.Apps().V1().Deployments()
	enqueueToken := func(obj any) {
		if d, ok := obj.(*appsv1.Deployment); ok && d.Labels[LabelNode] != "" {
			tokens.Add(d.Name)
		}
	}
	if _, err := deployments.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueToken,
		UpdateFunc: func(_, obj any) { enqueueToken(obj) },
	}); err != nil {
		return fmt.Errorf("watch the VNode Deployments: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	own.Start(ctx.Done())
	defer own.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), csrs.Informer().HasSynced, deployments.Informer().HasSynced) {
		return ctx.Err()
	}
	c.Log.Info("approving the kubelet certificates of this installation's VNodes", "namespace", c.Namespace)
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for c.next(ctx, queue, csrs.Lister().Get) {
		}
	}, time.Second)
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for c.nextToken(ctx, tokens, deployments.Lister().Deployments(c.Namespace).Get) {
		}
	}, time.Second)
	<-ctx.Done()
	return nil
}

// nextToken ensures the bootstrap token of one VNode Deployment.
func (c *Controller) nextToken(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string],
	get func(string) (*appsv1.Deployment, error)) bool {
	name, shutdown := queue.Get()
	if shutdown {
		return false
	}
	defer queue.Done(name)
	d, err := get(name)
	if apierrors.IsNotFound(err) {
		queue.Forget(name)
		return true
	}
	if err == nil {
		err = c.ensureToken(ctx, d.Labels[LabelNode], d)
	}
	if err != nil {
		c.Log.Warn("could not give a VNode its bootstrap token; retrying", "deployment", name, "err", err)
		queue.AddRateLimited(name)
		return true
	}
	queue.Forget(name)
	return true
}

func (c *Controller) next(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string],
	get func(string) (*certificatesv1.CertificateSigningRequest, error)) bool {
	name, shutdown := queue.Get()
	if shutdown {
		return false
	}
	defer queue.Done(name)
	csr, err := get(name)
	if apierrors.IsNotFound(err) || (err == nil && !pending(csr)) {
		queue.Forget(name)
		return true
	}
	if err == nil {
		err = c.decide(ctx, csr)
	}
	if err != nil {
		c.Log.Warn("could not decide a certificate signing request; retrying", "csr", name, "err", err)
		queue.AddRateLimited(name)
		return true
	}
	queue.Forget(name)
	return true
}

// decide judges one CSR and writes the verdict, unless it is not ours.
func (c *Controller) decide(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) error {
	var lookupErr error
	verdict, reason := Decide(csr, func(node string) (VNode, bool) {
		v, ok, err := c.vnode(ctx, node)
		lookupErr = err
		return v, ok
	})
	if lookupErr != nil {
		return lookupErr
	}
	switch verdict {
	case Ignore:
		c.Log.Debug("not a certificate of this installation's VNodes", "csr", csr.Name, "why", reason)
		return nil
	case Wait:
		return errors.New(reason)
	}
	cond := certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: Reason, Message: reason,
		LastUpdateTime: metav1.Now(),
	}
	if verdict == Deny {
		cond.Type, cond.Message = certificatesv1.CertificateDenied, "denied: "+reason
	}
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, cond)
	if _, err := c.Kube.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("%s CSR %s: %w", verdict, csr.Name, err)
	}
	c.Log.Info("decided a VNode certificate signing request", "csr", csr.Name, "verdict", verdict.String(),
		"requester", csr.Spec.Username, "signer", csr.Spec.SignerName, "reason", reason)
	return nil
}

// vnode finds node among this installation's VNodes: its runtime Deployment in Namespace,
// labelled with its name, and its Node's addresses (none yet when it has not registered).
func (c *Controller) vnode(ctx context.Context, node string) (VNode, bool, error) {
	name := "eci-vnode-" + node
	d, err := c.Kube.AppsV1().Deployments(c.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return VNode{}, false, nil
	}
	if err != nil {
		return VNode{}, false, fmt.Errorf("read the runtime Deployment %s/%s: %w", c.Namespace, name, err)
	}
	if d.Labels[LabelNode] != node {
		return VNode{}, false, nil
	}
	v := VNode{Name: node, Requesters: []string{
		BootstrapUserPrefix + install.BootstrapTokenID(c.Namespace, node),
		NodeUserPrefix + node,
	}}
	n, err := c.Kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return VNode{}, false, fmt.Errorf("read Node %s: %w", node, err)
	default:
		v.Registered, v.Addresses = true, n.Status.Addresses
	}
	return v, true, nil
}

// pending: neither approved nor denied (nor failed) yet.
func pending(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		}
	}
	return true
}
