package node

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
)

// backoffAndRate is the limiter of every queue of the runtime: per item,
// exponential back-off from base to max; overall, a token bucket of qps
// and burst. The larger of the two delays wins.
func backoffAndRate[T comparable](base, max time.Duration, qps float64, burst int) workqueue.TypedRateLimiter[T] {
	return workqueue.NewTypedMaxOfRateLimiter[T](
		workqueue.NewTypedItemExponentialFailureRateLimiter[T](base, max),
		&workqueue.TypedBucketRateLimiter[T]{Limiter: rate.NewLimiter(rate.Limit(qps), burst)},
	)
}
