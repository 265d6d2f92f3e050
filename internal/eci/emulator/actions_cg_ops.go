package emulator

import (
	"reflect"
	"time"
)

// readGroupID reads the required ContainerGroupId and finds the group.
func (c *call) readGroup() (*group, *apiError) {
	id := c.p.Get("ContainerGroupId").String()
	if id == "" {
		return nil, errMissing("ContainerGroupId")
	}
	return c.e.st.lookupGroup(id)
}

// tokenSeen implements ClientToken idempotency for operations on an
// existing resource: a repeated token is answered with success and no
// second effect.
func (c *call) tokenSeen(id string) bool {
	tok := c.p.Get("ClientToken").String()
	if tok == "" {
		return false
	}
	key := c.action + "/" + tok
	if te, ok := c.e.st.tokens[key]; ok && te.id == id {
		return true
	}
	c.e.st.tokens[key] = tokenEntry{id: id, fingerprint: c.fingerprint()}
	return false
}

func actDeleteContainerGroup(c *call) (any, *apiError) {
	id := c.p.Get("ContainerGroupId").String()
	if id == "" {
		return nil, errMissing("ContainerGroupId")
	}
	force := c.rd.bool(c.p.Get("Force"), false)
	checkClientToken(c, c.p.Get("ClientToken").String())
	if c.rd.err != nil {
		return nil, nil
	}
	g, ae := c.e.st.lookupGroup(id)
	if ae != nil {
		if c.tokenSeen(id) {
			return struct{}{}, nil // a retried delete of a group already gone
		}
		return nil, ae
	}
	c.tokenSeen(id)
	switch {
	case force || terminal(g.status):
		// Nothing runs any more (or the caller skips the grace period).
		g.gone = true
		c.e.st.releaseGroup(g)
		delete(c.e.st.groups, g.id)
	case g.status == stTerminating:
		// Already being deleted; deleting again is not an error.
	default:
		g.prevStatus = g.status
		g.status = stTerminating
		g.changed(c.now)
		grace := c.e.cfg.Lifecycle.Terminating
		if g.spec.TerminationGrace < grace {
			grace = g.spec.TerminationGrace
		}
		g.phaseUntil = c.now.Add(grace)
		g.touch()
		for _, ct := range g.allContainers() {
			if ct.phase == phRunning {
				g.addEvent(c.now, "Normal", "Killing", "Stopping container "+ct.spec.Name, "K8sAgent", ct.spec.Name)
			}
		}
		g.refreshConditions(c.now)
	}
	return struct{}{}, nil
}

func actRestartContainerGroup(c *call) (any, *apiError) {
	checkClientToken(c, c.p.Get("ClientToken").String())
	g, ae := c.readGroup()
	if ae != nil {
		return nil, ae
	}
	if c.rd.err != nil {
		return nil, nil
	}
	if g.status == stRestarting && c.tokenSeen(g.id) {
		return struct{}{}, nil
	}
	if g.status != stPending && g.status != stRunning {
		return nil, errIncorrectStatus(g.id, g.status, "RestartContainerGroup")
	}
	c.tokenSeen(g.id)
	g.prevStatus = g.status
	g.status = stRestarting
	g.changed(c.now)
	g.phaseUntil = c.now.Add(c.e.cfg.Lifecycle.Restarting)
	g.touch()
	// ActiveDeadlineSeconds keeps counting from the first start: a restart
	// does not extend an instance's lifetime.
	g.pendingTimeoutAt = time.Time{}
	for _, ct := range g.allContainers() {
		if ct.phase == phRunning {
			g.addEvent(c.now, "Normal", "Killing", "Stopping container "+ct.spec.Name, "K8sAgent", ct.spec.Name)
			ct.terminate(c.now, 137, "Restarting", "", 9)
		}
		ct.phase, ct.nextAt = phIdle, time.Time{}
	}
	g.addEvent(c.now, "Normal", "Restarting", "Restarting container group "+g.id, "EciService", "")
	g.refreshConditions(c.now)
	return struct{}{}, nil
}

func actUpdateContainerGroup(c *call) (any, *apiError) {
	g, ae := c.readGroup()
	if ae != nil {
		return nil, ae
	}
	checkClientToken(c, c.p.Get("ClientToken").String())
	updateType := c.rd.oneOf(c.p.Get("UpdateType"), "RenewUpdate", "IncrementalUpdate")
	if c.rd.err != nil {
		return nil, nil
	}
	if g.status == stUpdating && c.tokenSeen(g.id) {
		return struct{}{}, nil
	}
	if g.status != stPending && g.status != stRunning {
		return nil, errIncorrectStatus(g.id, g.status, "UpdateContainerGroup")
	}
	next := g.spec // copy; slices are replaced, never mutated in place
	if vols := c.p.Get("Volume"); vols.Exists() {
		nv := readVolumes(c, vols)
		if updateType == "RenewUpdate" {
			next.Volumes = nv
		} else {
			next.Volumes = mergeByName(next.Volumes, nv, func(v volumeSpec) string { return v.Name })
		}
	}
	apps, inits := readContainers(c, next.Volumes, false)
	if c.rd.err != nil {
		return nil, nil
	}
	if c.p.Get("Container").Exists() {
		if updateType == "RenewUpdate" {
			next.Containers = apps
		} else {
			merged, ae := mergeContainers(c, "Container", next.Containers, apps)
			if ae != nil {
				return nil, ae
			}
			next.Containers = merged
		}
	}
	if c.p.Get("InitContainer").Exists() {
		if updateType == "RenewUpdate" {
			next.InitContainers = inits
		} else {
			merged, ae := mergeContainers(c, "InitContainer", next.InitContainers, inits)
			if ae != nil {
				return nil, ae
			}
			next.InitContainers = merged
		}
	}
	readPodLevel(c, &next)
	newTags, replaceTags := g.tags, c.p.Get("Tag").Exists()
	if replaceTags {
		newTags = readTags(c, c.p.Get("Tag"), 64)
	}
	cpu := c.rd.float(c.p.Get("Cpu"), 0)
	mem := c.rd.float(c.p.Get("Memory"), 0)
	if c.rd.err != nil {
		return nil, nil
	}
	if cpu > 0 || mem > 0 {
		cands, ae := c.e.sizingCandidates("", max(cpu, g.cpu*boolTo(cpu == 0)), max(mem, g.mem*boolTo(mem == 0)))
		if ae != nil {
			return nil, ae
		}
		if maxCPU := c.e.cfg.Quotas.MaxCPU; maxCPU > 0 && cands[0].cpu > g.cpu {
			if used := c.e.st.usedCPU(); used-g.cpu+cands[0].cpu > maxCPU {
				return nil, errQuota(used, cands[0].cpu-g.cpu, maxCPU)
			}
		}
		g.pendingCPU, g.pendingMem = cands[0].cpu, cands[0].mem
	}
	c.tokenSeen(g.id)
	g.tags = newTags
	g.pendingUpdate = &next
	g.prevStatus = g.status
	g.status = stUpdating
	g.changed(c.now)
	g.phaseUntil = c.now.Add(c.e.cfg.Lifecycle.Updating)
	g.touch()
	g.refreshConditions(c.now)
	return struct{}{}, nil
}

func boolTo(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func mergeByName[T any](old, upd []T, name func(T) string) []T {
	out := append([]T(nil), old...)
	for _, u := range upd {
		found := false
		for i := range out {
			if name(out[i]) == name(u) {
				out[i], found = u, true
			}
		}
		if !found {
			out = append(out, u)
		}
	}
	return out
}

// mergeContainers applies an incremental update: each named container
// takes the fields that were sent; unknown names are an error.
func mergeContainers(c *call, list string, old, upd []containerSpec) ([]containerSpec, *apiError) {
	out := append([]containerSpec(nil), old...)
	for i, u := range upd {
		found := false
		for j := range out {
			if out[j].Name != u.Name {
				continue
			}
			found = true
			sent := c.p.Get(list).Items()[i]
			merged := out[j]
			dst, src := reflect.ValueOf(&merged).Elem(), reflect.ValueOf(u)
			for _, f := range []struct{ param, field string }{
				{"Image", "Image"}, {"Cpu", "CPU"}, {"Memory", "Memory"}, {"Gpu", "GPU"}, {"WorkingDir", "WorkingDir"},
				{"ImagePullPolicy", "ImagePullPolicy"}, {"Command", "Commands"}, {"Arg", "Args"}, {"EnvironmentVar", "Env"},
				{"Port", "Ports"}, {"VolumeMount", "Mounts"}, {"ReadinessProbe", "Readiness"}, {"LivenessProbe", "Liveness"},
				{"Stdin", "Stdin"}, {"StdinOnce", "StdinOnce"}, {"Tty", "TTY"},
			} {
				if sent.Get(f.param).Exists() {
					dst.FieldByName(f.field).Set(src.FieldByName(f.field))
				}
			}
			out[j] = merged
		}
		if !found {
			return nil, errInvalid(list, "Container %q does not exist in this container group; use UpdateType=RenewUpdate to replace the list.", u.Name)
		}
	}
	return out, nil
}

// applyUpdate ends Updating: the new spec takes effect, containers whose
// spec changed restart (pulling a changed image), unchanged ones keep
// running.
func (g *group) applyUpdate(t time.Time, s *state) {
	next := g.pendingUpdate
	g.pendingUpdate = nil
	if g.pendingCPU > 0 {
		g.cpu, g.mem, g.pendingCPU, g.pendingMem = g.pendingCPU, g.pendingMem, 0, 0
	}
	if next == nil {
		g.setStatus(t, g.prevStatus)
		return
	}
	rebuild := func(old []*ctr, specs []containerSpec, init bool) []*ctr {
		var out []*ctr
		for _, cs := range specs {
			var keep *ctr
			for _, o := range old {
				if o.spec.Name == cs.Name {
					keep = o
				}
			}
			if keep != nil && reflect.DeepEqual(keep.spec, cs) {
				out = append(out, keep)
				continue
			}
			n := newCtr(s.cfg, cs, init, "ContainerCreating")
			if keep != nil {
				if keep.phase == phRunning {
					keep.terminate(t, 137, "Updating", "", 9)
				}
				prev := keep.cur
				n.prev = &prev
				n.restartCount = keep.restartCount + 1
				n.runs = keep.runs
				n.pulled = keep.pulled && keep.spec.Image == cs.Image
			}
			out = append(out, n)
		}
		return out
	}
	g.spec = *next
	g.inits = rebuild(g.inits, next.InitContainers, true)
	g.containers = rebuild(g.containers, next.Containers, false)
	allStarted := true
	for _, c := range g.containers {
		allStarted = allStarted && c.everStarted
	}
	if allStarted {
		g.setStatus(t, g.prevStatus)
		return
	}
	g.setStatus(t, stPending)
	g.startPipeline(t, s)
}
