package translate

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// CSI drivers of Alibaba Cloud storage whose volumes ECI mounts natively.
const (
	csiDiskDriver = "diskplugin.csi.alibabacloud.com"
	csiNASDriver  = "nasplugin.csi.alibabacloud.com"
)

// persistentAlternative is offered for persistent volumes ECI cannot mount.
const persistentAlternative = "use a PersistentVolume on NAS (NFS) or an Alibaba Cloud disk (CSI driver " + csiDiskDriver + ")"

// claimVolume resolves a PersistentVolumeClaim to the volume it is bound to.
// An unbound claim is retryable: the kubelet also waits for binding.
func (t *translator) claimVolume(field, claim string, readOnly bool) (eci.Volume, volumeInfo) {
	ns := t.pod.Namespace
	pvc, err := t.r.PersistentVolumeClaim(ns, claim)
	if err != nil || pvc == nil {
		t.missingStorage(field, "PersistentVolumeClaim "+ns+"/"+claim, err)
		return eci.Volume{}, volumeInfo{}
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != corev1.ClaimBound {
		t.c.fail(field, ReasonMissingReference,
			"PersistentVolumeClaim %s/%s is not bound yet; the pod is retried once it is bound", ns, claim)
		return eci.Volume{}, volumeInfo{}
	}
	pv, err := t.r.PersistentVolume(pvc.Spec.VolumeName)
	if err != nil || pv == nil {
		t.missingStorage(field, "PersistentVolume "+pvc.Spec.VolumeName+" (bound to claim "+ns+"/"+claim+")", err)
		return eci.Volume{}, volumeInfo{}
	}
	if pv.Spec.VolumeMode != nil && *pv.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		t.c.fail(field, ReasonUnsupported, "PersistentVolume %s is a raw block volume, which ECI cannot attach; use a Filesystem volume", pv.Name)
		return eci.Volume{}, volumeInfo{}
	}
	if len(pv.Spec.MountOptions) > 0 {
		t.c.warn(field, WarnIgnored, "ECI mounts PersistentVolume %s with its default options; mountOptions are ignored", pv.Name)
	}
	src := &pv.Spec.PersistentVolumeSource
	switch {
	case src.NFS != nil:
		ro := readOnly || src.NFS.ReadOnly
		return eci.Volume{Type: eci.VolumeTypeNFS, NFS: &eci.NFSVolume{
			Server: src.NFS.Server, Path: src.NFS.Path, ReadOnly: trueOrNil(ro),
		}}, volumeInfo{kind: volNFS, readOnly: ro}
	case src.CSI != nil && src.CSI.Driver == csiDiskDriver:
		// The disk plugin's volume handle is the disk ID (d-...). A disk
		// attaches to one instance at a time, in its own zone.
		ro := readOnly || src.CSI.ReadOnly
		return eci.Volume{Type: eci.VolumeTypeDisk, Disk: &eci.DiskVolume{
			DiskID: src.CSI.VolumeHandle, FSType: src.CSI.FSType,
		}}, volumeInfo{kind: volDisk, readOnly: ro}
	case src.CSI != nil && src.CSI.Driver == csiNASDriver:
		server, path := src.CSI.VolumeAttributes["server"], src.CSI.VolumeAttributes["path"]
		if server == "" {
			t.c.fail(field, ReasonUnsupported, "NAS PersistentVolume %s has no server in its volumeAttributes; ECI needs the NAS mount target", pv.Name)
			return eci.Volume{}, volumeInfo{}
		}
		if path == "" {
			path = "/"
		}
		ro := readOnly || src.CSI.ReadOnly
		return eci.Volume{Type: eci.VolumeTypeNFS, NFS: &eci.NFSVolume{
			Server: server, Path: path, ReadOnly: trueOrNil(ro),
		}}, volumeInfo{kind: volNFS, readOnly: ro}
	case src.CSI != nil:
		t.c.fail(field, ReasonUnsupported, "PersistentVolume %s uses CSI driver %s, which ECI cannot mount; %s", pv.Name, src.CSI.Driver, persistentAlternative)
	case src.FlexVolume != nil:
		if src.FlexVolume.SecretRef != nil {
			t.c.fail(field, ReasonUnsupported, "PersistentVolume %s passes a secret to its FlexVolume driver, which ECI cannot do; %s", pv.Name, persistentAlternative)
			return eci.Volume{}, volumeInfo{}
		}
		f := src.FlexVolume
		return flexVolume(f.Driver, f.FSType, f.Options), volumeInfo{kind: volFlex, readOnly: readOnly || f.ReadOnly}
	case src.HostPath != nil || src.Local != nil:
		t.c.fail(field, ReasonUnsupported, "PersistentVolume %s is a node-local volume, and an ECI instance has no node disk to mount; %s", pv.Name, persistentAlternative)
	default:
		t.c.fail(field, ReasonUnsupported, "PersistentVolume %s has a volume type ECI cannot mount; %s", pv.Name, persistentAlternative)
	}
	return eci.Volume{}, volumeInfo{}
}

func (t *translator) missingStorage(field, what string, err error) {
	if err == nil || apierrors.IsNotFound(err) {
		t.c.failCause(field, ReasonMissingReference, err, "%s does not exist; the pod is retried until it does", what)
		return
	}
	t.c.failCause(field, ReasonLookupFailed, err, "reading %s failed: %v", what, err)
}
