package install

import corev1 "k8s.io/api/core/v1"

// NodeTaints is ts as a Node carries them.
func NodeTaints(ts []Taint) []corev1.Taint {
	out := make([]corev1.Taint, len(ts))
	for i, t := range ts {
		out[i] = corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)}
	}
	return out
}

type taintID struct {
	key    string
	effect corev1.TaintEffect
}

// MergeNodeTaints brings a Node's current taints to want: a taint with the
// key and effect of a wanted one becomes it (keeping its time added), one
// set before (prev) and no longer wanted goes, and every other taint — the
// node lifecycle controller's, the runtime's eci-api-unreachable, a user's
// kubectl taint — is kept where it is; wanted taints not yet there are
// appended. Both writers of a VNode's taints use it: the runtime when it
// starts (its flags) and the provider when it updates a running Node.
func MergeNodeTaints(current, prev, want []corev1.Taint) []corev1.Taint {
	wanted := map[taintID]corev1.Taint{}
	for _, t := range want {
		wanted[taintID{t.Key, t.Effect}] = t
	}
	before := map[taintID]bool{}
	for _, t := range prev {
		before[taintID{t.Key, t.Effect}] = true
	}
	out := []corev1.Taint{}
	placed := map[taintID]bool{}
	for _, t := range current {
		id := taintID{t.Key, t.Effect}
		if w, ok := wanted[id]; ok {
			if !placed[id] {
				w.TimeAdded = t.TimeAdded
				out = append(out, w)
				placed[id] = true
			}
			continue
		}
		if before[id] {
			continue
		}
		out = append(out, t)
	}
	for _, t := range want {
		if id := (taintID{t.Key, t.Effect}); !placed[id] {
			out = append(out, t)
			placed[id] = true
		}
	}
	return out
}

// SameNodeTaints reports whether a and b are the same taints in the same
// order, times added aside.
func SameNodeTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect {
			return false
		}
	}
	return true
}
