package emulator

// Kubernetes-shaped shapes of DescribeContainerGroupStatus and
// DescribeContainerGroupEvents. Key names (including lower-case ones such
// as "uuid", "type", "status", "lastTransitionTime", "involvedObject") are
// the API's as the current SDK declares them.

type podConditionOut struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	LastTransitionTime string `json:"lastTransitionTime"`
	Reason             string `json:"Reason,omitempty"`
	Message            string `json:"Message,omitempty"`
}

type runningOut struct {
	// The current API spells this key "StartedAtstartedAt"; StartedAt is
	// sent as well for clients that expect the Kubernetes name.
	StartedAtstartedAt string `json:"StartedAtstartedAt"`
	StartedAt          string `json:"StartedAt"`
}

type terminatedOut struct {
	ContainerID string `json:"ContainerID"`
	ExitCode    int    `json:"ExitCode"`
	FinishedAt  string `json:"FinishedAt"`
	StartedAt   string `json:"StartedAt"`
	Reason      string `json:"Reason"`
	Message     string `json:"Message"`
	Signal      int    `json:"Signal"`
}

type waitingOut struct {
	Reason  string `json:"Reason"`
	Message string `json:"Message"`
}

type k8sStateOut struct {
	Running    *runningOut    `json:"Running,omitempty"`
	Terminated *terminatedOut `json:"Terminated,omitempty"`
	Waiting    *waitingOut    `json:"Waiting,omitempty"`
}

type containerStatusOut struct {
	Name         string      `json:"Name"`
	Image        string      `json:"Image"`
	ImageID      string      `json:"ImageID"`
	Ready        bool        `json:"Ready"`
	Started      bool        `json:"Started"`
	RestartCount int         `json:"RestartCount"`
	State        k8sStateOut `json:"State"`
	LastState    k8sStateOut `json:"LastState"`
}

type podIPOut struct {
	Ip string `json:"Ip"`
}

type podStatusOut struct {
	Phase             string               `json:"Phase"`
	PodIp             string               `json:"PodIp"`
	PodIps            []podIPOut           `json:"PodIps"`
	HostIp            string               `json:"HostIp"`
	QosClass          string               `json:"QosClass"`
	StartTime         string               `json:"StartTime"`
	Conditions        []podConditionOut    `json:"Conditions"`
	ContainerStatuses []containerStatusOut `json:"ContainerStatuses"`
}

type podStatusData struct {
	ContainerGroupId string       `json:"ContainerGroupId"`
	Name             string       `json:"Name"`
	Namespace        string       `json:"Namespace"`
	UUID             string       `json:"uuid"`
	Annotations      string       `json:"Annotations"`
	Status           string       `json:"Status"`
	PodStatus        podStatusOut `json:"PodStatus"`
}

// phase maps an ECI status to a Kubernetes pod phase.
func (g *group) phase() string {
	st := g.status
	if st == stTerminating || st == stUpdating || st == stRestarting {
		st = g.prevStatus
	}
	switch st {
	case stRunning, stUpdating:
		return "Running"
	case stSucceeded:
		return "Succeeded"
	case stFailed, stScheduleFailed, stExpired:
		return "Failed"
	}
	return "Pending"
}

func (g *group) qosClass() string {
	all, none := true, true
	for _, c := range g.containers {
		set := c.spec.CPU > 0 && c.spec.Memory > 0
		all = all && set
		none = none && c.spec.CPU == 0 && c.spec.Memory == 0
	}
	switch {
	case all:
		// ECI sets limits equal to requests, hence Guaranteed.
		return "Guaranteed"
	case none:
		return "BestEffort"
	}
	return "Burstable"
}

func (g *group) containerID(c *ctr) string {
	return "containerd://" + shortHash(g.id+"/"+c.spec.Name+"/"+fmtNum(float64(c.restartCount)), 64)
}

func (g *group) stateK8s(c *ctr, s ctrState) k8sStateOut {
	switch s.State {
	case "Running":
		return k8sStateOut{Running: &runningOut{StartedAtstartedAt: ts(s.StartedAt), StartedAt: ts(s.StartedAt)}}
	case "Terminated":
		return k8sStateOut{Terminated: &terminatedOut{ContainerID: g.containerID(c), ExitCode: s.ExitCode,
			FinishedAt: ts(s.FinishedAt), StartedAt: ts(s.StartedAt), Reason: s.Reason, Message: s.Message, Signal: s.Signal}}
	case "Waiting":
		return k8sStateOut{Waiting: &waitingOut{Reason: s.Reason, Message: s.Message}}
	}
	return k8sStateOut{}
}

func (g *group) podStatusData() podStatusData {
	ps := podStatusOut{Phase: g.phase(), PodIp: g.ip, HostIp: g.ip, QosClass: g.qosClass(), StartTime: ts(g.scheduledAt),
		PodIps: []podIPOut{}, Conditions: []podConditionOut{}, ContainerStatuses: []containerStatusOut{}}
	if g.schedFail != "" {
		ps.PodIp, ps.HostIp = "", ""
	}
	if ps.PodIp != "" {
		ps.PodIps = append(ps.PodIps, podIPOut{Ip: ps.PodIp})
	}
	for _, typ := range []string{"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled", "ContainerInstanceCreated"} {
		if cd, ok := g.conds[typ]; ok {
			pc := podConditionOut{Type: typ, Status: cd.Status, LastTransitionTime: ts(cd.LastTransit), Reason: cd.Reason}
			if typ == "PodScheduled" && cd.Reason == "Unschedulable" {
				pc.Message = g.schedMsg
			}
			ps.Conditions = append(ps.Conditions, pc)
		}
	}
	for _, c := range append(append([]*ctr{}, g.inits...), g.containers...) {
		cs := containerStatusOut{Name: c.spec.Name, Image: c.spec.Image, Ready: c.ready, Started: c.phase == phRunning,
			RestartCount: c.restartCount, State: g.stateK8s(c, c.cur)}
		if c.pulled {
			cs.ImageID = c.spec.Image + "@sha256:" + shortHash(c.spec.Image, 64)
		}
		if c.prev != nil {
			cs.LastState = g.stateK8s(c, *c.prev)
		}
		ps.ContainerStatuses = append(ps.ContainerStatuses, cs)
	}
	return podStatusData{ContainerGroupId: g.id, Name: g.name, Namespace: "default", UUID: g.id, Annotations: "{}",
		Status: g.status, PodStatus: ps}
}

type k8sEventOut struct {
	Count          int    `json:"Count"`
	FirstTimestamp string `json:"FirstTimestamp"`
	LastTimestamp  string `json:"LastTimestamp"`
	Message        string `json:"Message"`
	Reason         string `json:"Reason"`
	Type           string `json:"Type"`
	Metadata       struct {
		Name      string `json:"Name"`
		Namespace string `json:"Namespace"`
	} `json:"Metadata"`
	Source struct {
		Component string `json:"Component"`
		Host      string `json:"Host,omitempty"`
	} `json:"Source"`
	ReportingComponent string `json:"ReportingComponent"`
	ReportingInstance  string `json:"ReportingInstance"`
	InvolvedObject     struct {
		ApiVersion string `json:"ApiVersion"`
		Kind       string `json:"Kind"`
		Name       string `json:"Name"`
		Namespace  string `json:"Namespace"`
		Uid        string `json:"Uid"`
		FieldPath  string `json:"FieldPath,omitempty"`
	} `json:"involvedObject"`
}

type eventsData struct {
	ContainerGroupId string        `json:"ContainerGroupId"`
	Name             string        `json:"Name"`
	Namespace        string        `json:"Namespace"`
	UUID             string        `json:"uuid"`
	Annotations      string        `json:"Annotations"`
	Events           []k8sEventOut `json:"Events"`
}

func (ev *event) toK8s(g *group) k8sEventOut {
	var o k8sEventOut
	o.Count, o.FirstTimestamp, o.LastTimestamp = ev.Count, ts(ev.First), ts(ev.Last)
	o.Message, o.Reason, o.Type = ev.Message, ev.Reason, ev.Type
	o.Metadata.Name, o.Metadata.Namespace = ev.name(g), "default"
	o.Source.Component = ev.Source
	o.ReportingComponent = ev.Source
	o.InvolvedObject.ApiVersion, o.InvolvedObject.Kind = "v1", "Pod"
	o.InvolvedObject.Name, o.InvolvedObject.Namespace, o.InvolvedObject.Uid = g.name, "default", g.id
	if ev.Container != "" {
		o.InvolvedObject.FieldPath = "spec.containers{" + ev.Container + "}"
	}
	return o
}
