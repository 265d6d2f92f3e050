package eci

import "encoding/json"

// Response types of DescribeContainerGroupStatus and
// DescribeContainerGroupEvents: Kubernetes-shaped views made for virtual
// kubelets (docs/design.md, "ECI API facts", "Status and events"; the
// actions' pages, e.g.
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-describecontainergroupstatus).
// JSON names are the API's, including its lower-case keys.

// ContainerGroupStatus is one instance's pod-like status.
type ContainerGroupStatus struct {
	ContainerGroupID string    `json:"ContainerGroupId"`
	Name             string    `json:"Name"`
	Namespace        string    `json:"Namespace"`
	UUID             string    `json:"uuid"`
	Annotations      string    `json:"Annotations"` // a JSON object, as a string
	Status           string    `json:"Status"`
	PodStatus        PodStatus `json:"PodStatus"`
}

// PodStatus mirrors Kubernetes' PodStatus.
type PodStatus struct {
	Phase             string            `json:"Phase"`
	PodIP             string            `json:"PodIp"`
	PodIPs            []PodIP           `json:"PodIps"`
	HostIP            string            `json:"HostIp"`
	QOSClass          string            `json:"QosClass"`
	StartTime         string            `json:"StartTime"`
	Conditions        []PodCondition    `json:"Conditions"`
	ContainerStatuses []ContainerStatus `json:"ContainerStatuses"`
}

// PodIP is one pod address.
type PodIP struct {
	IP string `json:"Ip"`
}

// PodCondition mirrors Kubernetes' PodCondition.
type PodCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	LastTransitionTime string `json:"lastTransitionTime"`
	Reason             string `json:"Reason"`
	Message            string `json:"Message"`
}

// ContainerStatus mirrors Kubernetes' ContainerStatus.
type ContainerStatus struct {
	Name         string            `json:"Name"`
	Image        string            `json:"Image"`
	ImageID      string            `json:"ImageID"`
	Ready        bool              `json:"Ready"`
	Started      bool              `json:"Started"`
	RestartCount int32             `json:"RestartCount"`
	State        ContainerStateK8s `json:"State"`
	LastState    ContainerStateK8s `json:"LastState"`
}

// ContainerStateK8s mirrors Kubernetes' ContainerState: one of the three is set.
type ContainerStateK8s struct {
	Waiting    *StateWaiting    `json:"Waiting"`
	Running    *StateRunning    `json:"Running"`
	Terminated *StateTerminated `json:"Terminated"`
}

// StateWaiting is a waiting container.
type StateWaiting struct {
	Reason  string `json:"Reason"`
	Message string `json:"Message"`
}

// StateRunning is a running container.
type StateRunning struct {
	StartedAt string
}

// UnmarshalJSON accepts both spellings of the start time: the API's
// generated metadata names the key "StartedAtstartedAt"; "StartedAt" and
// "startedAt" are what a Kubernetes-shaped answer would use.
func (s *StateRunning) UnmarshalJSON(b []byte) error {
	var raw struct {
		A string `json:"StartedAtstartedAt"`
		B string `json:"StartedAt"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s.StartedAt = raw.B
	if raw.A != "" {
		s.StartedAt = raw.A
	}
	return nil
}

// StateTerminated is a terminated container.
type StateTerminated struct {
	ContainerID string `json:"ContainerID"`
	ExitCode    int32  `json:"ExitCode"`
	Signal      int32  `json:"Signal"`
	Reason      string `json:"Reason"`
	Message     string `json:"Message"`
	StartedAt   string `json:"StartedAt"`
	FinishedAt  string `json:"FinishedAt"`
}

// ContainerGroupEvents are the Kubernetes-shaped events of one instance.
type ContainerGroupEvents struct {
	ContainerGroupID string     `json:"ContainerGroupId"`
	Name             string     `json:"Name"`
	Namespace        string     `json:"Namespace"`
	UUID             string     `json:"uuid"`
	Annotations      string     `json:"Annotations"`
	Events           []K8sEvent `json:"Events"`
}

// K8sEvent mirrors a Kubernetes Event.
type K8sEvent struct {
	Type               string `json:"Type"` // Normal | Warning
	Reason             string `json:"Reason"`
	Message            string `json:"Message"`
	Count              int32  `json:"Count"`
	FirstTimestamp     string `json:"FirstTimestamp"`
	LastTimestamp      string `json:"LastTimestamp"`
	ReportingComponent string `json:"ReportingComponent"`
	ReportingInstance  string `json:"ReportingInstance"`
	Metadata           struct {
		Name      string `json:"Name"`
		Namespace string `json:"Namespace"`
	} `json:"Metadata"`
	Source struct {
		Component string `json:"Component"`
		Host      string `json:"Host"`
	} `json:"Source"`
	InvolvedObject struct {
		APIVersion string `json:"ApiVersion"`
		Kind       string `json:"Kind"`
		Name       string `json:"Name"`
		Namespace  string `json:"Namespace"`
		UID        string `json:"Uid"`
	} `json:"involvedObject"`
}
