package emulator

import (
	"strings"
	"time"
)

// ImageBehaviour is what a container running an image does. It comes from
// the configuration: Config.Images for a configured image, whose
// behaviour wins over the container's command, else DefaultImage or
// DefaultInitImage, whose process part (logs, run time, exit) a container
// command the interpreter can run replaces (see program.go and README.md,
// "Container processes").
type ImageBehaviour struct {
	// PullDuration overrides Lifecycle.ImagePull for this image
	// (negative = instant).
	PullDuration time.Duration `json:"pullDuration,omitempty"`
	// PullError makes every pull fail with this reason (for example
	// "ErrImagePull"); the container waits in ImagePullBackOff and the
	// instance stays Pending until MaxPendingMinute fails it.
	PullError string `json:"pullError,omitempty"`
	// RunFor is how long the process runs before it exits; 0 = forever.
	RunFor time.Duration `json:"runFor,omitempty"`
	// ExitCode is the exit code after RunFor.
	ExitCode int `json:"exitCode,omitempty"`
	// OOMKilled ends the process after RunFor as killed by the OOM killer
	// (exit code 137, reason OOMKilled, an OOMKilled event).
	OOMKilled bool `json:"oomKilled,omitempty"`
	// Logs are written to stdout when the process starts, one line each.
	Logs []string `json:"logs,omitempty"`
	// LogEvery appends a line "<LogLine> <n>" every interval while running
	// (LogLine default "tick").
	LogEvery time.Duration `json:"logEvery,omitempty"`
	LogLine  string        `json:"logLine,omitempty"`
	// NotReady keeps the container unready while running (a failing
	// readiness probe).
	NotReady bool `json:"notReady,omitempty"`
	// CPUUsage and MemoryUsage are the fractions of the container's (or
	// instance's) vCPU and memory reported by the metric actions
	// (defaults 0.1 and 0.3).
	CPUUsage    float64 `json:"cpuUsage,omitempty"`
	MemoryUsage float64 `json:"memoryUsage,omitempty"`
	// Files are readable through exec ("cat <path>") in addition to the
	// instance's config file volumes.
	Files map[string]string `json:"files,omitempty"`
}

// defaultInitBehaviour lets an unconfigured init container finish: the
// default "run forever" would block the instance in Pending for ever.
func defaultInitBehaviour() ImageBehaviour { return ImageBehaviour{RunFor: time.Second} }

// imageKey strips tag and digest: "reg.io/ns/app:1.0@sha256:.." -> "reg.io/ns/app".
func imageKey(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndex(image, "/")
	if i := strings.LastIndex(image, ":"); i > slash {
		image = image[:i]
	}
	return image
}

// behaviourFor returns the behaviour of an image and whether
// Config.Images configures it (otherwise it is a default, and the
// container's own command may decide what its process does).
func (cfg *Config) behaviourFor(image string, init bool) (ImageBehaviour, bool) {
	if b, ok := cfg.Images[image]; ok {
		return b, true
	}
	if b, ok := cfg.Images[imageKey(image)]; ok {
		return b, true
	}
	if init {
		if cfg.DefaultInitImage != nil {
			return *cfg.DefaultInitImage, false
		}
		return defaultInitBehaviour(), false
	}
	if cfg.DefaultImage != nil {
		return *cfg.DefaultImage, false
	}
	return ImageBehaviour{}, false // run forever
}

// imagePullError is the configured PullError of an image ("" = none).
func (cfg *Config) imagePullError(image string) string {
	b, _ := cfg.behaviourFor(image, false)
	return b.PullError
}

// newCtr is a container of a group that has not started yet.
func newCtr(cfg *Config, spec containerSpec, init bool, waitReason string) *ctr {
	beh, configured := cfg.behaviourFor(spec.Image, init)
	return &ctr{spec: spec, beh: beh, configured: configured, init: init,
		cur: ctrState{State: "Waiting", Reason: waitReason}}
}
