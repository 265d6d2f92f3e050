package profile

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
)

// FuzzParseRender: whatever parses renders back byte for byte, and after an edit of
// every selector renders to JSON that parses back to the same selectors and unknown
// members. Run: go test ./internal/profile -run '^$' -fuzz FuzzParseRender -fuzztime 30s
func FuzzParseRender(f *testing.F) {
	for _, seed := range []string{ackDefault, ackPretty, benchProfile(3), "", "[]", "null",
		`[{"name":"a","objectSelector":{},"x":{"y":[1,"2",null]},"effect":{"z":true,"labels":{}}}]`,
		`[{"name":"\u0061","objectSelector":{"matchLabels":{"\u0041":"b"}}}]`,
		`[{"name":"a","namespaceSelector":null,"objectSelector":{"matchExpressions":[{"key":"k","operator":"In","values":["v"]}]},"priority":-3}]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse(map[string]string{SelectorsKey: doc, "vpcId": "v"})
		if err != nil {
			return
		}
		_ = p.Validate() // must not panic
		out, err := p.Render()
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if out[SelectorsKey] != doc || out["vpcId"] != "v" {
			t.Fatalf("unchanged render differs:\n in %q\nout %q", doc, out[SelectorsKey])
		}

		for i := range p.Selectors {
			p.Selectors[i].Priority++
		}
		out, err = p.Render()
		if err != nil {
			t.Fatalf("Render after edit: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("rendered document does not parse: %v\n%s", err, out[SelectorsKey])
		}
		if len(back.Selectors) != len(p.Selectors) {
			t.Fatalf("got %d selectors back, want %d", len(back.Selectors), len(p.Selectors))
		}
		for i, want := range p.Selectors {
			got := back.Selectors[i]
			if got.Name != want.Name || got.Priority != want.Priority || got.Policy != want.Policy || got.VirtualNode != want.VirtualNode ||
				!equalLabelSelector(got.NamespaceSelector, want.NamespaceSelector) || !equalLabelSelector(got.ObjectSelector, want.ObjectSelector) ||
				!equalEffect(got.Effect, want.Effect) ||
				!maps.EqualFunc(got.Unknown(), want.Unknown(), func(a, b json.RawMessage) bool { return bytes.Equal(compact(a), compact(b)) }) {
				t.Fatalf("selector %d changed in the round trip:\n got %+v\nwant %+v\n%s", i, got, want, out[SelectorsKey])
			}
		}
	})
}
