package emulator

import (
	"time"
)

// ECI container group statuses, as listed for the Status field of
// DescribeContainerGroups (https://help.aliyun.com/document_detail/90343.html).
const (
	stScheduling     = "Scheduling"
	stScheduleFailed = "ScheduleFailed"
	stPending        = "Pending"
	stRunning        = "Running"
	stSucceeded      = "Succeeded"
	stFailed         = "Failed"
	stRestarting     = "Restarting"
	stUpdating       = "Updating"
	stTerminating    = "Terminating"
	stExpired        = "Expired"
)

// allStatuses is the accepted set of the Status filter.
func allStatuses() []string {
	return []string{stPending, stRunning, stSucceeded, stFailed, stScheduling, stScheduleFailed,
		stRestarting, stUpdating, stTerminating, stExpired}
}

// terminal reports whether a group status is final: no containers run and
// its capacity has been given back.
func terminal(status string) bool {
	switch status {
	case stSucceeded, stFailed, stScheduleFailed, stExpired:
		return true
	}
	return false
}

type tag struct{ Key, Value string }

type envVar struct {
	Key, Value, FieldPath string
}

type portSpec struct {
	Port     int
	Protocol string
}

type mountSpec struct {
	Name, MountPath, SubPath, MountPropagation string
	ReadOnly                                   bool
}

type probeSpec struct {
	InitialDelaySeconds, PeriodSeconds, TimeoutSeconds, SuccessThreshold, FailureThreshold int
	Exec                                                                                   []string
	HTTPPath, HTTPScheme                                                                   string
	HTTPPort                                                                               int
	TCPPort                                                                                int
	set                                                                                    bool
}

// containerSpec is one container as requested (and as Describe reports it).
type containerSpec struct {
	Name, Image, WorkingDir, ImagePullPolicy string
	CPU, Memory                              float64
	GPU                                      int
	Commands, Args                           []string
	Env                                      []envVar
	EnvHide                                  bool
	Ports                                    []portSpec
	Mounts                                   []mountSpec
	Readiness, Liveness                      probeSpec
	Stdin, StdinOnce, TTY                    bool
	ReadOnlyRootFS                           bool
	RunAsUser                                int64
	RunAsUserSet                             bool
	CapAdd                                   []string
	Privileged                               bool
	TerminationMessagePath                   string
	TerminationMessagePolicy                 string
}

type configFile struct {
	Path    string
	Content string // base64, as sent
	Mode    int
}

// volumeSpec is one volume as requested.
type volumeSpec struct {
	Name, Type                          string
	NFSServer, NFSPath                  string
	NFSReadOnly                         bool
	ConfigFiles                         []configFile
	DefaultMode                         int
	EmptyDirMedium, EmptyDirSizeLimit   string
	DiskID, DiskFsType                  string
	DiskSize                            int
	FlexDriver, FlexFsType, FlexOptions string
	HostPathType, HostPath              string
}

// groupSpec is everything about a group that UpdateContainerGroup can
// replace, plus the creation-time settings Describe echoes.
type groupSpec struct {
	RestartPolicy       string
	Containers          []containerSpec
	InitContainers      []containerSpec
	Volumes             []volumeSpec
	DNSPolicy           string
	DNSNameServers      []string
	DNSSearches         []string
	DNSOptions          []tag // Name/Value
	Sysctls             []tag
	HostAliases         []hostAlias
	RegistryCreds       []string // servers only; passwords are not kept
	RAMRoleName         string
	ResourceGroupID     string
	EphemeralStorage    int
	SpotStrategy        string
	SpotPriceLimit      float64
	TerminationGrace    time.Duration
	ActiveDeadline      time.Duration
	MaxPending          time.Duration
	HostName            string
	AutoMatchImageCache bool
	ImageSnapshotID     string
	Ipv6                bool
	AutoCreateEip       bool
	EipInstanceID       string
}

type hostAlias struct {
	IP        string
	Hostnames []string
}

// event is one aggregated event (same reason and message count up).
type event struct {
	Type, Reason, Message string
	Source                string // "EciService" or "K8sAgent"
	Container             string
	First, Last           time.Time
	Count                 int
	Seq                   int
}

// Container process phases of the lifecycle engine.
const (
	phIdle     = iota // waits for its turn (init order, or init containers)
	phPulling         // image being pulled
	phPullFail        // pull failed, back-off before retry
	phCreating        // pulled, being created and started
	phRunning         // process running
	phBackoff         // exited, waiting to be restarted
	phDone            // exited for good
)

// termState is a finished (or the current) container state as reported.
type ctrState struct {
	State      string // Waiting, Running, Terminated
	Reason     string
	Message    string
	ExitCode   int
	Signal     int
	StartedAt  time.Time
	FinishedAt time.Time
}

// logRun is the output of one container process.
type logRun struct {
	Start, End time.Time // End zero while running
	Out        []logEntry
	Every      time.Duration
	EveryLine  string
}

// logEntry is one line of a process's output, At after it started.
type logEntry struct {
	At   time.Duration
	Text string
}

// ctr is one container at run time.
type ctr struct {
	spec         containerSpec
	beh          ImageBehaviour
	configured   bool        // beh comes from Config.Images, not a default
	plan         processPlan // what the current (or last) run does
	init         bool
	phase        int
	nextAt       time.Time // next phase deadline (zero = none)
	readyAt      time.Time // readiness deadline (zero = none)
	pulled       bool
	cur          ctrState
	prev         *ctrState
	ready        bool
	everStarted  bool
	restartCount int
	pullFailures int
	runs         []*logRun // at most the current and the previous run
}

// group is one container group (ECI instance).
type group struct {
	seq                    int
	id, name               string
	zoneID, vswID, sgID    string
	vpcID                  string
	cpu, mem               float64
	instanceType           string // reported InstanceType
	stockZone, stockKey    string // where capacity was taken ("" = none)
	computeCategory        string
	ip, ipv6, eip          string
	spec                   groupSpec
	tags                   []tag
	containers, inits      []*ctr
	events                 []*event
	eventSeq               int
	status                 string
	prevStatus             string // status before Terminating/Updating/Restarting
	created                time.Time
	phaseUntil             time.Time // end of Scheduling/Restarting/Updating/Terminating
	schedFail              string    // NoStock / StockClose: ScheduleFailed at phaseUntil
	schedMsg               string
	scheduledAt            time.Time
	initDoneAt             time.Time
	startedAt              time.Time // first time Running
	deadlineAt             time.Time // ActiveDeadlineSeconds
	pendingTimeoutAt       time.Time // MaxPendingMinute
	finishedAt             time.Time
	succeededAt, failedAt  time.Time
	lastChange             time.Time // when the Describe view last changed (see changed)
	conds                  map[string]condition
	pendingUpdate          *groupSpec
	pendingCPU, pendingMem float64
	wake                   time.Time // cached next transition (zero = none)
	wakeKnown              bool
	ipReleased             bool
	gone                   bool
}

type condition struct {
	Status      string
	LastTransit time.Time
	Reason, Msg string
}
