package emulator

import (
	"fmt"
	"time"
)

// The lifecycle engine is lazy: nothing runs in the background. Every API
// call first advances all groups to the clock's current time by applying
// due transitions in time order, so a FakeClock advanced by an hour and a
// real clock that passed an hour give the same observable history, with
// each event stamped at the moment it was due, not the moment it was seen.

const maxStepsPerAdvance = 100000 // guards against a transition loop bug

// advance applies the due transitions of one group. The time of the next
// transition is cached so that idle groups cost nothing per request;
// handlers that change a group's deadlines call touch to drop the cache.
func (g *group) advance(now time.Time, s *state) {
	if g.wakeKnown && (g.wake.IsZero() || g.wake.After(now)) {
		return
	}
	for i := 0; i < maxStepsPerAdvance; i++ {
		t, fire := g.nextDue(s)
		if fire == nil || t.After(now) {
			g.wake, g.wakeKnown = t, true
			if fire == nil {
				g.wake = time.Time{}
			}
			return
		}
		fire(t)
		g.changed(t)
		g.refreshConditions(t)
		if g.gone {
			return
		}
	}
}

// touch forgets the cached next-transition time after a handler changed
// the group.
func (g *group) touch() { g.wakeKnown = false }

// changed records that the group's DescribeContainerGroups view changed at
// t: a transition's due time (not the later request that applied it), or
// the time of the call that changed the group. It is what
// DescribeContainerGroupStatus SinceSecond selects on. Every transition
// counts: each one changes a status, a container state, readiness, a
// restart count, a condition or the events.
func (g *group) changed(t time.Time) {
	if t.After(g.lastChange) {
		g.lastChange = t
	}
}

func earliest(t time.Time, fire func(time.Time), ct time.Time, cfire func(time.Time)) (time.Time, func(time.Time)) {
	if ct.IsZero() || cfire == nil {
		return t, fire
	}
	if fire == nil || ct.Before(t) {
		return ct, cfire
	}
	return t, fire
}

// nextDue returns the earliest pending transition. Group-level deadlines
// win ties over container deadlines; containers are visited init first,
// in order, so equal times resolve deterministically.
func (g *group) nextDue(s *state) (time.Time, func(time.Time)) {
	var t time.Time
	var fire func(time.Time)
	switch g.status {
	case stScheduling, stRestarting, stUpdating, stTerminating:
		if !g.phaseUntil.IsZero() {
			t, fire = g.phaseUntil, func(at time.Time) { g.endPhase(at, s) }
		}
	case stPending, stRunning:
		t, fire = earliest(t, fire, g.deadlineAt, func(at time.Time) { g.deadlineExceeded(at, s) })
		if g.status == stPending {
			t, fire = earliest(t, fire, g.pendingTimeoutAt, func(at time.Time) { g.pendingTimedOut(at, s) })
		}
		for _, c := range g.allContainers() {
			c := c
			t, fire = earliest(t, fire, c.nextAt, func(at time.Time) { g.stepContainer(c, at, s) })
			t, fire = earliest(t, fire, c.readyAt, func(at time.Time) { c.ready, c.readyAt = true, time.Time{} })
		}
	}
	return t, fire
}

func (g *group) allContainers() []*ctr {
	out := make([]*ctr, 0, len(g.inits)+len(g.containers))
	out = append(out, g.inits...)
	return append(out, g.containers...)
}

// endPhase finishes Scheduling, Restarting, Updating or Terminating.
func (g *group) endPhase(t time.Time, s *state) {
	g.phaseUntil = time.Time{}
	switch g.status {
	case stScheduling:
		if g.schedFail != "" {
			g.addEvent(t, "Warning", g.schedFail, g.schedMsg, "EciService", "")
			g.finish(t, stScheduleFailed, s)
			return
		}
		g.scheduledAt = t
		g.setStatus(t, stPending)
		g.addEvent(t, "Normal", "Scheduled", fmt.Sprintf("Successfully assigned %s to %s (%s)", g.id, g.zoneID, g.vswID), "EciService", "")
		if g.spec.MaxPending > 0 {
			g.pendingTimeoutAt = t.Add(g.spec.MaxPending)
		} else {
			g.pendingTimeoutAt = t.Add(s.cfg.Lifecycle.MaxPendingDefault)
		}
		if g.spec.ActiveDeadline > 0 {
			g.deadlineAt = t.Add(g.spec.ActiveDeadline)
		}
		g.startPipeline(t, s)
	case stRestarting:
		for _, c := range g.allContainers() {
			c.resetForRestart(t)
		}
		g.initDoneAt = time.Time{}
		g.setStatus(t, stPending)
		g.pendingTimeoutAt = t.Add(s.cfg.Lifecycle.MaxPendingDefault)
		g.startPipeline(t, s)
	case stUpdating:
		g.applyUpdate(t, s)
	case stTerminating:
		g.gone = true
	}
}

func (g *group) setStatus(t time.Time, st string) {
	if g.status != st {
		g.status = st
		g.changed(t)
	}
}

// finish moves the group to a terminal status, stops its containers and
// gives its capacity back.
func (g *group) finish(t time.Time, st string, s *state) {
	for _, c := range g.allContainers() {
		if c.phase == phRunning {
			c.terminate(t, 137, "Killed", "", 9)
		}
		c.phase, c.nextAt, c.readyAt, c.ready = phDone, time.Time{}, time.Time{}, false
		if c.cur.State == "Waiting" && st != stScheduleFailed {
			// A container that never ran ends with the group.
			c.cur = ctrState{State: "Terminated", Reason: "ContainerCannotRun", ExitCode: 0, FinishedAt: t}
		}
	}
	g.setStatus(t, st)
	g.finishedAt = t
	switch st {
	case stSucceeded:
		g.succeededAt = t
	case stFailed, stScheduleFailed:
		g.failedAt = t
	}
	g.deadlineAt, g.pendingTimeoutAt = time.Time{}, time.Time{}
	s.releaseCapacity(g)
	if p := s.ipam[g.vswID]; p != nil && g.ip != "" && !g.ipReleased {
		p.release(g.ip)
		g.ipReleased = true
	}
}

// startPipeline starts the first unfinished init container, or all app
// containers once init containers are done.
func (g *group) startPipeline(t time.Time, s *state) {
	for _, c := range g.inits {
		if c.phase != phDone {
			g.startPull(c, t, s)
			return
		}
	}
	if g.initDoneAt.IsZero() {
		g.initDoneAt = t
	}
	for _, c := range g.containers {
		if c.phase == phIdle {
			g.startPull(c, t, s)
		}
	}
}

func (g *group) pullDuration(c *ctr, s *state) time.Duration {
	if c.beh.PullDuration < 0 || g.imageCached(c.spec.Image, s) {
		return 0
	}
	if c.beh.PullDuration > 0 {
		return c.beh.PullDuration
	}
	return s.cfg.Lifecycle.ImagePull
}

func (g *group) startPull(c *ctr, t time.Time, s *state) {
	c.cur = ctrState{State: "Waiting", Reason: "ContainerCreating"}
	if c.pulled {
		g.startCreate(c, t, s)
		return
	}
	g.addEvent(t, "Normal", "Pulling", fmt.Sprintf("Pulling image %q", c.spec.Image), "K8sAgent", c.spec.Name)
	c.phase = phPulling
	c.nextAt = t.Add(g.pullDuration(c, s))
}

func (g *group) startCreate(c *ctr, t time.Time, s *state) {
	c.phase = phCreating
	c.cur = ctrState{State: "Waiting", Reason: "ContainerCreating"}
	c.nextAt = t.Add(s.cfg.Lifecycle.ContainerStart)
}

// backoff is the kubelet-style restart delay: base * 2^n, capped.
func backoff(cfg *Config, n int) time.Duration {
	d := cfg.Lifecycle.CrashBackoff
	for i := 0; i < n && d < cfg.Lifecycle.CrashBackoffMax; i++ {
		d *= 2
	}
	if d > cfg.Lifecycle.CrashBackoffMax {
		d = cfg.Lifecycle.CrashBackoffMax
	}
	return d
}

// stepContainer fires a container's phase deadline.
func (g *group) stepContainer(c *ctr, t time.Time, s *state) {
	c.nextAt = time.Time{}
	switch c.phase {
	case phPulling:
		if c.beh.PullError != "" {
			c.pullFailures++
			c.cur = ctrState{State: "Waiting", Reason: c.beh.PullError,
				Message: fmt.Sprintf("failed to pull image %q: %s", c.spec.Image, c.beh.PullError)}
			g.addEvent(t, "Warning", "Failed", fmt.Sprintf("Failed to pull image %q: %s", c.spec.Image, c.beh.PullError), "K8sAgent", c.spec.Name)
			c.phase = phPullFail
			c.nextAt = t.Add(backoff(s.cfg, c.pullFailures-1))
			return
		}
		c.pulled = true
		g.addEvent(t, "Normal", "Pulled", fmt.Sprintf("Successfully pulled image %q", c.spec.Image), "K8sAgent", c.spec.Name)
		g.startCreate(c, t, s)
	case phPullFail:
		c.cur = ctrState{State: "Waiting", Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q", c.spec.Image)}
		g.addEvent(t, "Normal", "BackOff", fmt.Sprintf("Back-off pulling image %q", c.spec.Image), "K8sAgent", c.spec.Name)
		c.phase = phPulling
		c.nextAt = t.Add(g.pullDuration(c, s))
	case phCreating:
		g.startProcess(c, t, s)
	case phRunning:
		g.processExited(c, t, s)
	case phBackoff:
		c.restartCount++
		g.startCreate(c, t, s)
	}
}

// startProcess starts the container's process: Running, a new log run,
// readiness after the probe's initial delay.
func (g *group) startProcess(c *ctr, t time.Time, s *state) {
	g.addEvent(t, "Normal", "Created", "Created container "+c.spec.Name, "K8sAgent", c.spec.Name)
	g.addEvent(t, "Normal", "Started", "Started container "+c.spec.Name, "K8sAgent", c.spec.Name)
	c.phase = phRunning
	c.everStarted = true
	c.cur = ctrState{State: "Running", StartedAt: t}
	c.plan = g.planProcess(c)
	c.runs = append(c.runs, &logRun{Start: t, Out: c.plan.out, Every: c.plan.every, EveryLine: c.plan.everyLine})
	if len(c.runs) > 2 {
		c.runs = c.runs[len(c.runs)-2:]
	}
	if !c.plan.forever {
		c.nextAt = t.Add(c.plan.runFor)
	}
	c.ready = false
	c.readyAt = time.Time{}
	if !c.init && !c.beh.NotReady {
		delay := time.Duration(c.spec.Readiness.InitialDelaySeconds) * time.Second
		if delay <= 0 {
			c.ready = true
		} else {
			c.readyAt = t.Add(delay)
		}
	}
	if g.status == stPending && !c.init {
		all := true
		for _, a := range g.containers {
			all = all && a.everStarted
		}
		if all {
			g.setStatus(t, stRunning)
			if g.startedAt.IsZero() {
				g.startedAt = t
			}
			g.pendingTimeoutAt = time.Time{}
		}
	}
}

// terminate records the end of the running process.
func (c *ctr) terminate(t time.Time, code int, reason, msg string, signal int) {
	c.cur = ctrState{State: "Terminated", Reason: reason, Message: msg, ExitCode: code, Signal: signal,
		StartedAt: c.cur.StartedAt, FinishedAt: t}
	if n := len(c.runs); n > 0 && c.runs[n-1].End.IsZero() {
		c.runs[n-1].End = t
	}
	c.ready, c.readyAt = false, time.Time{}
}

// processExited applies the process's exit and the restart policy.
func (g *group) processExited(c *ctr, t time.Time, s *state) {
	code, reason := c.plan.exitCode, "Completed"
	if c.plan.oom {
		code, reason = 137, "OOMKilled"
		g.addEvent(t, "Warning", "OOMKilled", "Out of memory", "EciService", c.spec.Name)
	} else if code != 0 {
		reason = "Error"
	}
	c.terminate(t, code, reason, "", 0)

	restart := false
	switch g.spec.RestartPolicy {
	case "Never":
	case "OnFailure":
		restart = code != 0
	default: // Always
		restart = !c.init || code != 0
	}
	if c.init {
		if code == 0 {
			c.phase = phDone
			g.startPipeline(t, s)
			return
		}
		if g.spec.RestartPolicy == "Never" {
			c.phase = phDone
			g.finish(t, stFailed, s)
			return
		}
		restart = true
	}
	if restart {
		prev := c.cur
		c.prev = &prev
		d := backoff(s.cfg, c.restartCount)
		c.cur = ctrState{State: "Waiting", Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s", d, c.spec.Name)}
		g.addEvent(t, "Warning", "BackOff", "Back-off restarting failed container "+c.spec.Name, "K8sAgent", c.spec.Name)
		c.phase = phBackoff
		c.nextAt = t.Add(d)
		return
	}
	c.phase = phDone
	g.checkCompletion(t, s)
}

// checkCompletion ends the group once every app container is done for good.
func (g *group) checkCompletion(t time.Time, s *state) {
	failed := false
	for _, c := range g.containers {
		if c.phase != phDone {
			return
		}
		failed = failed || c.cur.ExitCode != 0
	}
	if failed {
		g.finish(t, stFailed, s)
	} else {
		g.finish(t, stSucceeded, s)
	}
}

func (g *group) deadlineExceeded(t time.Time, s *state) {
	g.addEvent(t, "Warning", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline", "EciService", "")
	for _, c := range g.allContainers() {
		if c.phase == phRunning {
			c.terminate(t, 137, "DeadlineExceeded", "", 9)
		}
	}
	g.finish(t, stFailed, s)
}

func (g *group) pendingTimedOut(t time.Time, s *state) {
	g.addEvent(t, "Warning", "PendingTimeout", "The instance stayed Pending longer than MaxPendingMinute and was stopped", "EciService", "")
	g.finish(t, stFailed, s)
}

// resetForRestart prepares a container for RestartContainerGroup: the last
// state is kept as previous and the process starts again from scratch.
func (c *ctr) resetForRestart(t time.Time) {
	if c.phase == phRunning {
		c.terminate(t, 137, "Restarting", "", 9)
	}
	if c.cur.State == "Terminated" {
		prev := c.cur
		c.prev = &prev
	}
	if c.everStarted {
		c.restartCount++
	}
	c.phase, c.nextAt, c.readyAt, c.ready, c.everStarted = phIdle, time.Time{}, time.Time{}, false, false
	c.cur = ctrState{State: "Waiting", Reason: "ContainerCreating"}
}

// refreshConditions keeps the Kubernetes-shaped pod conditions and their
// transition times current.
func (g *group) refreshConditions(t time.Time) {
	if g.conds == nil {
		g.conds = map[string]condition{}
	}
	set := func(typ string, ok bool, reason string) {
		st := "False"
		if ok {
			st = "True"
		}
		old, had := g.conds[typ]
		if !had || old.Status != st || old.Reason != reason {
			g.conds[typ] = condition{Status: st, LastTransit: t, Reason: reason}
		}
	}
	scheduled := !g.scheduledAt.IsZero()
	if g.status == stScheduleFailed {
		set("PodScheduled", false, "Unschedulable")
		return
	}
	set("PodScheduled", scheduled, "")
	if !scheduled {
		return
	}
	set("ContainerInstanceCreated", true, "")
	set("PodReadyToStartContainers", true, "")
	set("Initialized", !g.initDoneAt.IsZero(), "")
	ready := g.status == stRunning
	for _, c := range g.containers {
		ready = ready && c.ready
	}
	reason := ""
	if terminal(g.status) {
		reason = "PodCompleted"
	}
	set("ContainersReady", ready, reason)
	set("Ready", ready, reason)
}
