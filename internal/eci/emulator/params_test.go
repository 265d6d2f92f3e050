package emulator

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseParamsTree(t *testing.T) {
	p, err := ParseParams(map[string]string{
		"ContainerGroupName":                        "web",
		"Container.1.Name":                          "app",
		"Container.1.Image":                         "nginx",
		"Container.1.Command.1":                     "sh",
		"Container.1.Command.2":                     "-c",
		"Container.1.VolumeMount.2.MountPath":       "/b",
		"Container.1.VolumeMount.1.MountPath":       "/a",
		"Container.2.Name":                          "side",
		"Container.1.LivenessProbe.Exec.Command":    v1JunkValue,
		"Container.1.ReadinessProbe.Exec.Command.1": "true",
		"Tag.3.Key":                                 "k3",
		"Tag.1.Key":                                 "k1",
		"DnsConfig.NameServer.1":                    "1.1.1.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Root()
	if got := r.Get("ContainerGroupName").String(); got != "web" {
		t.Errorf("name = %q", got)
	}
	cs := r.Get("Container").Items()
	if len(cs) != 2 || cs[0].Get("Image").String() != "nginx" || cs[1].Get("Name").String() != "side" {
		t.Fatalf("containers wrong: %d", len(cs))
	}
	if got := cs[0].Get("Command").Strings(); !reflect.DeepEqual(got, []string{"sh", "-c"}) {
		t.Errorf("command = %q", got)
	}
	if mp := cs[0].Get("VolumeMount").Items(); mp[0].Get("MountPath").String() != "/a" || mp[1].Get("MountPath").String() != "/b" {
		t.Errorf("mount order wrong")
	}
	if cs[0].Get("LivenessProbe").Exists() {
		t.Errorf("v1 junk value must be treated as absent")
	}
	if got := cs[0].Get("ReadinessProbe").Get("Exec").Get("Command").Strings(); !reflect.DeepEqual(got, []string{"true"}) {
		t.Errorf("readiness command = %q", got)
	}
	tags := r.Get("Tag").Items()
	if len(tags) != 2 || tags[1].Get("Key").String() != "k3" || tags[1].Path() != "Tag.2" {
		t.Errorf("tag gaps must close up: %d %q", len(tags), tags[1].Path())
	}
	if got := r.Get("Container").Items()[0].Get("VolumeMount").Items()[1].Get("MountPath").Path(); got != "Container.1.VolumeMount.2.MountPath" {
		t.Errorf("path = %q", got)
	}
	if r.Get("Nope").Get("Deeper").Exists() {
		t.Errorf("absent chain must not exist")
	}
}

func TestParseParamsRejectsMalformedKeys(t *testing.T) {
	for _, key := range []string{"", "a..b", ".a", "a.", "1.Name", "Tag.0.Key", "Tag.1001.Key", strings.Repeat("a.", 20) + "b", strings.Repeat("x", 600)} {
		if _, err := ParseParams(map[string]string{key: "v"}); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}

// FuzzParseParams feeds arbitrary query strings through the same path the
// server uses (url.ParseQuery, then the tree parser and every accessor);
// nothing may panic.
func FuzzParseParams(f *testing.F) {
	for _, seed := range []string{
		"Action=CreateContainerGroup&Container.1.Image=nginx&Container.1.Name=c",
		"Tag.1.Key=a&Tag.1.Value=b&Tag.3.Key=c",
		"Container.1.LivenessProbe.Exec.Command=%3C%5B%5Dstring+Value%3E",
		"a.1.b.2.c.3=x&a.1=y&a=z",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content=aGk%3D",
		"x.99999999999999999999=1&....=2&=3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flat := map[string]string{}
		for k, v := range q {
			flat[k] = v[0]
		}
		p, err := ParseParams(flat)
		if err != nil {
			return
		}
		var walk func(v Value, depth int)
		walk = func(v Value, depth int) {
			if depth > maxParamDepth+2 {
				t.Fatalf("tree deeper than allowed")
			}
			_ = v.String()
			_ = v.Strings()
			_ = v.Exists()
			_ = v.Path()
			for _, name := range v.FieldNames() {
				walk(v.Get(name), depth+1)
			}
			for _, it := range v.Items() {
				walk(it, depth+1)
			}
		}
		walk(p.Root(), 0)
		var rd reader
		for k := range flat {
			v := p.Root().Get(k)
			rd.int(v, 0)
			rd.float(v, 0)
			rd.bool(v, false)
			rd.jsonStrings(v)
		}
	})
}
