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
	b.WriteString("The mutating call as the API server times it (" + DurationMetric + ", mean): the eci-vnode webhook's against the no-op's, " +
		"pooled over the rounds and round by round (median of the rounds' ratios)")
	if r.patchingNoop() {
		b.WriteString("; against the no-op returning the eci-vnode webhook's patch (no-op+patch), whose extra time over the no-op is the API server applying the patch")
	}
	b.WriteString("; and each webhook's own time per mutating request (read to written, in the bench process):\n\n")
	b.WriteString("| req/s | no-op | eci-vnode | ratio | ratio per round (median) |")
	if r.patchingNoop() {
		b.WriteString(" no-op+patch | eci-vnode / no-op+patch |")
	}
	b.WriteString(" own time no-op / eci-vnode |\n|---:|---:|---:|---:|---:|")
	if r.patchingNoop() {
		b.WriteString("---:|---:|")
	}
	b.WriteString("---:|\n")
	for _, rt := range r.Rates {
		var rounds []string
		for _, x := range rt.AdmitRoundRatios {
			rounds = append(rounds, fmt.Sprintf("%.2f", x))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %s (%.2f) |", rt.Rate, ms(rt.Admit.Noop.Mean), ms(rt.Admit.ECIVNode.Mean), rt.Admit.MeanRatio,
			strings.Join(rounds, ", "), rt.AdmitMedianRoundRatio)
		if r.patchingNoop() {
			fmt.Fprintf(&b, " %s | %.2f |", ms(rt.AdmitVsPatchingNoop.Noop.Mean), rt.AdmitVsPatchingNoop.MeanRatio)
		}
		fmt.Fprintf(&b, " %s / %s |\n", us(rt.Handler[WebhookNoop]), us(rt.Handler[WebhookECIVNode]))
	}
	b.WriteString("\nAPI server's timing of each webhook call (" + DurationMetric + "), both types:\n\n")
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
	if r.patchingNoop() {
		b.WriteString("\nThe same against the no-op returning the eci-vnode webhook's patch (no-op+patch):\n\n")
		b.WriteString("| req/s | call | no-op+patch mean | eci-vnode mean | ratio | no-op+patch p99 | eci-vnode p99 | ratio |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
		for _, rt := range r.Rates {
			for _, c := range []struct {
				name string
				c    Comparison
			}{{"mutating", rt.AdmitVsPatchingNoop}, {"validating", rt.ValidatingVsPatchingNoop}} {
				fmt.Fprintf(&b, "| %d | %s | %s | %s | %.2f | %s | %s | %.2f |\n", rt.Rate, c.name, ms(c.c.Noop.Mean), ms(c.c.ECIVNode.Mean), c.c.MeanRatio,
					ms(c.c.Noop.P99), ms(c.c.ECIVNode.P99), c.c.P99Ratio)
			}
		}
	}
	b.WriteString("\nClient-side latency of pod creation:\n\n")
	b.WriteString("| req/s | no-op median | eci-vnode median | ratio | no-op p99 | eci-vnode p99 | ratio |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, rt := range r.Rates {
		c := rt.Client
		fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %s | %s | %.2f |\n", rt.Rate, ms(c.Noop.Median), ms(c.ECIVNode.Median), c.MedianRatio, ms(c.Noop.P99), ms(c.ECIVNode.P99), c.P99Ratio)
	}
	b.WriteString("\nEvery phase:\n\n")
	b.WriteString("| req/s | webhook | round | achieved req/s | errors | client median | client p99 | API server CPU / pod | bench process CPU / pod | own time / mutating request | calls (API server mean) |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, rt := range r.Rates {
		for _, p := range rt.Phases {
			var calls []string
			for _, c := range p.Calls {
				calls = append(calls, fmt.Sprintf("%s %s %d × %s", c.Name, c.Type, c.Count, ms(c.Mean)))
			}
			fmt.Fprintf(&b, "| %d | %s | %d | %.1f | %d | %s | %s | %s | %s | %s | %s |\n", rt.Rate, p.Webhook, p.Round, p.Achieved, p.Errors,
				ms(p.Client.Median), ms(p.Client.P99), us(p.APIServerCPUPerPod), us(p.ProcessCPUPerPod), us(p.HandlerAdmit), strings.Join(calls, "; "))
		}
	}
	return b.String()
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// patchingNoop reports whether the run had no-op+patch phases.
func (r Result) patchingNoop() bool {
	for _, rt := range r.Rates {
		if rt.AdmitVsPatchingNoop.Noop.Count > 0 {
			return true
		}
	}
	return false
}
