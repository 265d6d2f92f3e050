package translate

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// volumeKind is what a pod volume became on ECI.
type volumeKind uint8

const (
	volFailed     volumeKind = iota // not translated (reported); mounts of it are skipped
	volEmptyDir                     // EmptyDirVolume
	volConfigFile                   // ConfigFileVolume: configMap, secret, downwardAPI, projected
	volNFS                          // NFSVolume: nfs, NFS or NAS persistent volumes
	volDisk                         // DiskVolume: Alibaba Cloud disk persistent volumes
	volFlex                         // FlexVolume
)

type volumeInfo struct {
	kind     volumeKind
	readOnly bool // every mount is read-only (API data, read-only claims)
}

// The alternative offered for every volume type ECI cannot mount
// (docs/design.md, "Unsupported on a VNode").
const volumeAlternative = "use emptyDir, a cloud disk, or NAS (NFS) instead"

// volumes translates the pod's volumes in order.
func (t *translator) volumes() {
	vols := t.pod.Spec.Volumes
	t.vols = make(map[string]volumeInfo, len(vols))
	if len(vols) == 0 {
		return
	}
	out := make([]eci.Volume, 0, len(vols))
	for i := range vols {
		v := &vols[i]
		ev, info := t.volume(index("spec.volumes", i), v)
		t.vols[v.Name] = info
		if info.kind != volFailed {
			ev.Name = v.Name
			out = append(out, ev)
		}
	}
	t.req.Volumes = out
}

func (t *translator) volume(field string, v *corev1.Volume) (eci.Volume, volumeInfo) {
	src := &v.VolumeSource
	switch {
	case src.EmptyDir != nil:
		return t.emptyDir(field+".emptyDir", src.EmptyDir)
	case src.ConfigMap != nil:
		return t.configMapVolume(field+".configMap", src.ConfigMap)
	case src.Secret != nil:
		return t.secretVolume(field+".secret", src.Secret)
	case src.DownwardAPI != nil:
		return t.downwardAPIVolume(field+".downwardAPI", src.DownwardAPI)
	case src.Projected != nil:
		return t.projectedVolume(field+".projected", v.Name, src.Projected)
	case src.PersistentVolumeClaim != nil:
		c := src.PersistentVolumeClaim
		return t.claimVolume(field+".persistentVolumeClaim", c.ClaimName, c.ReadOnly)
	case src.Ephemeral != nil:
		// A generic ephemeral volume is a PVC the ephemeral volume
		// controller creates as <pod>-<volume>.
		return t.claimVolume(field+".ephemeral", t.pod.Name+"-"+v.Name, false)
	case src.NFS != nil:
		return eci.Volume{Type: eci.VolumeTypeNFS, NFS: &eci.NFSVolume{
			Server: src.NFS.Server, Path: src.NFS.Path, ReadOnly: trueOrNil(src.NFS.ReadOnly),
		}}, volumeInfo{kind: volNFS, readOnly: src.NFS.ReadOnly}
	case src.FlexVolume != nil:
		f := src.FlexVolume
		if f.SecretRef != nil {
			t.c.fail(field+".flexVolume.secretRef", ReasonUnsupported,
				"FlexVolume secrets cannot be passed to ECI; put the settings in options, or use a CSI persistent volume")
			return eci.Volume{}, volumeInfo{}
		}
		return flexVolume(f.Driver, f.FSType, f.Options), volumeInfo{kind: volFlex, readOnly: f.ReadOnly}
	case src.HostPath != nil:
		t.c.fail(field+".hostPath", ReasonUnsupported,
			"hostPath volumes are not supported on a VNode: an ECI instance has no host to share files with; %s", volumeAlternative)
	case src.Image != nil:
		t.c.fail(field+".image", ReasonUnsupported,
			"image volumes are not supported on ECI; copy the files from the image into an emptyDir with an init container instead")
	case src.GitRepo != nil:
		t.c.fail(field+".gitRepo", ReasonUnsupported,
			"gitRepo volumes are not supported on ECI; clone the repository into an emptyDir with an init container instead")
	case src.CSI != nil:
		t.c.fail(field+".csi", ReasonUnsupported,
			"inline CSI volumes are not supported on ECI; use a PersistentVolumeClaim bound to a cloud disk or NAS (NFS) volume instead")
	default:
		t.c.fail(field, ReasonUnsupported, "%s volumes are not supported on a VNode; %s", sourceName(src), volumeAlternative)
	}
	return eci.Volume{}, volumeInfo{}
}

func (t *translator) emptyDir(field string, e *corev1.EmptyDirVolumeSource) (eci.Volume, volumeInfo) {
	out := &eci.EmptyDirVolume{}
	switch {
	case e.Medium == corev1.StorageMediumDefault:
	case e.Medium == corev1.StorageMediumMemory:
		out.Medium = "Memory"
	default:
		t.c.fail(field+".medium", ReasonUnsupported, "medium %s is not available on ECI; use the default medium or Memory", e.Medium)
		return eci.Volume{}, volumeInfo{}
	}
	if e.SizeLimit != nil && !e.SizeLimit.IsZero() {
		out.SizeLimit = e.SizeLimit.String()
	}
	if e.Mode != nil {
		t.c.warn(field+".mode", WarnIgnored, "ECI creates emptyDir volumes with its default permissions; the mode is ignored")
	}
	return eci.Volume{Type: eci.VolumeTypeEmptyDir, EmptyDir: out}, volumeInfo{kind: volEmptyDir}
}

func flexVolume(driver, fsType string, options map[string]string) eci.Volume {
	// Options is a JSON object string; build it by hand in sorted order so
	// the same pod always gives the same request.
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range sortedKeys(options) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		b.WriteString(strconv.Quote(options[k]))
	}
	b.WriteByte('}')
	opts := b.String()
	if opts == "{}" {
		opts = ""
	}
	return eci.Volume{Type: eci.VolumeTypeFlex, Flex: &eci.FlexVolume{Driver: driver, FSType: fsType, Options: opts}}
}

// mounts translates a container's volume mounts.
func (t *translator) mounts(field string, c *corev1.Container, env *envSet) []eci.VolumeMount {
	if len(c.VolumeMounts) == 0 {
		return nil
	}
	out := make([]eci.VolumeMount, 0, len(c.VolumeMounts))
	for j := range c.VolumeMounts {
		m := &c.VolumeMounts[j]
		mf := index(field+".volumeMounts", j)
		info, ok := t.vols[m.Name]
		if !ok {
			t.c.fail(mf+".name", ReasonInvalidSpec, "no volume named %s in the pod", strconv.Quote(m.Name))
			continue
		}
		if info.kind == volFailed {
			continue // the volume's own problem is reported
		}
		sub := m.SubPath
		if m.SubPathExpr != "" {
			for _, name := range references(m.SubPathExpr) {
				if env.runtimeOnly(name) {
					t.c.fail(mf+".subPathExpr", ReasonUnsupported,
						"$(%s) is only known when the instance starts (it is the pod IP), so the sub path cannot be computed at creation; use another variable", name)
				}
			}
			sub = expand(m.SubPathExpr, env.lookup)
		}
		vm := eci.VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: sub}
		if m.ReadOnly || info.readOnly {
			vm.ReadOnly = eci.Ptr(true)
		}
		if m.MountPropagation != nil {
			vm.MountPropagation = string(*m.MountPropagation)
		}
		if m.RecursiveReadOnly != nil && *m.RecursiveReadOnly == corev1.RecursiveReadOnlyEnabled {
			t.c.fail(mf+".recursiveReadOnly", ReasonUnsupported,
				"recursive read-only mounts are not available on ECI; use IfPossible (the mount is then read-only at its top level) or Disabled")
		}
		if len(m.BindMountOptions) > 0 {
			t.ignoredSec = append(t.ignoredSec, mf+".bindMountOptions")
		}
		out = append(out, vm)
	}
	return out
}

func trueOrNil(b bool) *bool {
	if !b {
		return nil
	}
	return eci.Ptr(true)
}

// sourceName names a volume source ECI has no equivalent for.
func sourceName(s *corev1.VolumeSource) string {
	switch {
	case s.GCEPersistentDisk != nil:
		return "gcePersistentDisk"
	case s.AWSElasticBlockStore != nil:
		return "awsElasticBlockStore"
	case s.ISCSI != nil:
		return "iscsi"
	case s.Glusterfs != nil:
		return "glusterfs"
	case s.RBD != nil:
		return "rbd"
	case s.Cinder != nil:
		return "cinder"
	case s.CephFS != nil:
		return "cephfs"
	case s.Flocker != nil:
		return "flocker"
	case s.FC != nil:
		return "fc"
	case s.AzureFile != nil:
		return "azureFile"
	case s.AzureDisk != nil:
		return "azureDisk"
	case s.VsphereVolume != nil:
		return "vsphereVolume"
	case s.Quobyte != nil:
		return "quobyte"
	case s.PhotonPersistentDisk != nil:
		return "photonPersistentDisk"
	case s.PortworxVolume != nil:
		return "portworxVolume"
	case s.ScaleIO != nil:
		return "scaleIO"
	case s.StorageOS != nil:
		return "storageos"
	}
	return "these"
}
