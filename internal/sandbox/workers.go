package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultWorkers is the number of worker nodes when Options.Workers is zero.
const defaultWorkers = 2

// defaultCapacity is a worker's capacity where Options.WorkerCapacity says nothing.
func defaultCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
}

// workerPool is the set of simulated worker nodes and what they share: the pod IP pool, the
// process spawner and the sandbox's connection details.
type workerPool struct {
	s       *Sandbox
	ips     *ipAllocator
	backoff time.Duration
	nodes   []*workerNode
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startWorkers registers the worker nodes and waits until the apiserver sees them Ready.
func (s *Sandbox) startWorkers(ctx context.Context) error {
	n := s.opts.Workers
	if n == 0 {
		n = defaultWorkers
	}
	if n < 0 {
		return nil
	}
	if n > 254 {
		return fmt.Errorf("start workers: at most 254 workers, got %d", n)
	}
	capacity := defaultCapacity()
	for k, v := range s.opts.WorkerCapacity {
		capacity[k] = v
	}
	backoff := s.opts.RestartBackoff
	if backoff <= 0 {
		backoff = 10 * time.Second
	}
	// The pool outlives Start's ctx: it runs until Stop.
	runCtx, cancel := context.WithCancel(context.Background())
	pool := &workerPool{s: s, ips: newSandboxIPAllocator(s.podNetwork(ctx)), backoff: backoff, cancel: cancel}
	s.workers = pool
	for i := 1; i <= n; i++ {
		node, err := newWorkerNode(pool, i, capacity)
		if err != nil {
			return fmt.Errorf("start worker %d: %w", i, err)
		}
		pool.nodes = append(pool.nodes, node) // from here on, stop cleans it up
		if node.api, err = startKubeletAPI(node); err != nil {
			return fmt.Errorf("start worker %s: %w", node.name, err)
		}
		if err := node.register(ctx); err != nil {
			return fmt.Errorf("register worker %s: %w", node.name, err)
		}
		pool.wg.Add(1)
		go func() {
			defer pool.wg.Done()
			node.run(runCtx)
		}()
	}
	registered := time.Now()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	err := pollUntil(wctx, "worker nodes to be Ready", func(ctx context.Context) error {
		for _, node := range pool.nodes {
			got, err := s.client.CoreV1().Nodes().Get(ctx, node.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(got) {
				return fmt.Errorf("node %s not Ready yet", node.name)
			}
			// The node lifecycle controller taints a new node until it has seen it Ready;
			// until then nothing schedules there.
			for _, t := range got.Spec.Taints {
				if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
					return fmt.Errorf("node %s still tainted %s", node.name, t.Key)
				}
			}
		}
		return nil
	}, nil)
	if err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	s.logf("%d worker node(s) Ready and schedulable %s after registering", n, time.Since(registered).Round(10*time.Millisecond))
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// stop ends the node loops and kills every pod process (without touching the API, which is
// about to go away), waiting for all of them to exit.
func (p *workerPool) stop(ctx context.Context) error {
	p.cancel()
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range p.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.killAll(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	p.wg.Wait()
	for _, n := range p.nodes {
		if n.api != nil {
			n.api.stop(ctx)
		}
		n.broadcaster.Shutdown()
	}
	return errors.Join(errs...)
}
