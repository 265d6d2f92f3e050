package sandbox

import (
	"context"
	"errors"
	"os"
)

// etcdCandidates are where Debian's etcd-server package puts the server binary.
var etcdCandidates = [...]string{"etcd", "/usr/bin/etcd"}

// ensureEtcd returns the etcd server binary, installing Debian's etcd-server package when it
// is missing. Debian ships 3.4, which this apiserver still talks to. The package may start a
// system etcd on the default ports; it is stopped and disabled, since the sandbox runs its
// own etcd on a random port and a stray one only wastes memory.
func ensureEtcd(ctx context.Context, p progress, cacheRoot string) (string, error) {
	if path := lookPathAny(etcdCandidates[:]...); path != "" {
		p.printf("etcd: using %s", path)
		return path, nil
	}
	have := func() bool { return lookPathAny(etcdCandidates[:]...) != "" }
	if err := installDebianPackages(ctx, p, cacheRoot, "etcd", have, "etcd-server"); err != nil {
		return "", err
	}
	stopSystemEtcd(ctx)
	path := lookPathAny(etcdCandidates[:]...)
	if path == "" {
		return "", errors.New("install etcd: apt-get install etcd-server succeeded but no etcd binary is on PATH or in /usr/bin")
	}
	return path, nil
}

// stopSystemEtcd stops and disables the service the package may have started; on machines
// without systemd or without the service these commands fail, which is fine.
func stopSystemEtcd(ctx context.Context) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		_, _ = runStep(ctx, "stop system etcd", "", nil, "systemctl", "disable", "--now", "etcd")
		return
	}
	if _, err := os.Stat("/etc/init.d/etcd"); err == nil {
		_, _ = runStep(ctx, "stop system etcd", "", nil, "/etc/init.d/etcd", "stop")
		_, _ = runStep(ctx, "disable system etcd", "", nil, "update-rc.d", "etcd", "disable")
	}
}
