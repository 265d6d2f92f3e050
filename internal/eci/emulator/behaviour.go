package emulator

import (
	"strings"
	"time"
)

// ImageBehaviour is what a container running an image does. The emulator
// learns it only from its configuration (Config.Images), never from the
// pod spec, so tests state their assumptions in one place.
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

// behaviourFor returns the configured behaviour of an image.
func (cfg *Config) behaviourFor(image string, init bool) ImageBehaviour {
	if b, ok := cfg.Images[image]; ok {
		return b
	}
	if b, ok := cfg.Images[imageKey(image)]; ok {
		return b
	}
	if init {
		if cfg.DefaultInitImage != nil {
			return *cfg.DefaultInitImage
		}
		return defaultInitBehaviour()
	}
	if cfg.DefaultImage != nil {
		return *cfg.DefaultImage
	}
	return ImageBehaviour{} // run forever
}
