package webhookbench

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the result as the tables of a report: per rate, the eci-vnode
// webhook's call time next to the no-op's as the API server timed them (mean exact;
// median and p99 interpolated in its buckets) with the ratios, then client-side
// latency, then every phase.
func (r Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pod CREATE with dryRun=All through kube-apiserver %s, open loop, %v per phase; "+
		"each webhook has one mutating and one validating call per pod. Ratios are eci-vnode / no-op, over all rounds.\n\n", r.KubernetesVersion, r.Phase)
	if len(r.OtherWebhooks) > 0 {
		fmt.Fprintf(&b, "Other webhook configurations in the cluster, called in every phase alike: %s.\n\n", strings.Join(r.OtherWebhooks, ", "))
	}
	b.WriteString("API server's timing of each webhook call (" + DurationMetric + "):\n\n")
	b.WriteString("| req/s | call | no-op mean | eci-vnode mean | ratio | no-op median | eci-vnode median | ratio | no-op p99 | eci-vnode p99 | ratio | ≤ 5 ms no-op / eci-vnode |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, rt := range r.Rates {
		for _, c := range []struct {
			name string
			c    Comparison
		}{{"mutating", rt.Admit}, {"validating", rt.Validating}} {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %.2f | %s | %s | %.2f | %s | %s | %.2f | %.1f %% / %.1f %% |\n", rt.Rate, c.name,
				ms(c.c.Noop.Mean), ms(c.c.ECIVNode.Mean), c.c.MeanRatio, ms(c.c.Noop.Median), ms(c.c.ECIVNode.Median), c.c.MedianRatio,
				ms(c.c.Noop.P99), ms(c.c.ECIVNode.P99), c.c.P99Ratio, 100*c.c.Noop.Within5ms, 100*c.c.ECIVNode.Within5ms)
		}
	}
	b.WriteString("\nClient-side latency of pod creation:\n\n")
	b.WriteString("| req/s | no-op median | eci-vnode median | ratio | no-op p99 | eci-vnode p99 | ratio |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, rt := range r.Rates {
		c := rt.Client
		fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %s | %s | %.2f |\n", rt.Rate, ms(c.Noop.Median), ms(c.ECIVNode.Median), c.MedianRatio, ms(c.Noop.P99), ms(c.ECIVNode.P99), c.P99Ratio)
	}
	b.WriteString("\nEvery phase:\n\n")
	b.WriteString("| req/s | webhook | round | achieved req/s | errors | client median | client p99 | calls (API server mean) |\n|---:|---|---:|---:|---:|---:|---:|---|\n")
	for _, rt := range r.Rates {
		for _, p := range rt.Phases {
			var calls []string
			for _, c := range p.Calls {
				calls = append(calls, fmt.Sprintf("%s %s %d × %s", c.Name, c.Type, c.Count, ms(c.Mean)))
			}
			fmt.Fprintf(&b, "| %d | %s | %d | %.1f | %d | %s | %s | %s |\n", rt.Rate, p.Webhook, p.Round, p.Achieved, p.Errors,
				ms(p.Client.Median), ms(p.Client.P99), strings.Join(calls, "; "))
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
