package eci

import (
	"fmt"
	"strings"
	"testing"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Credentials
		wantErr []string // substrings of the error
	}{
		{
			name: "current names",
			env:  map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIid", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sec"},
			want: Credentials{AccessKeyID: "LTAIid", AccessKeySecret: "sec"},
		},
		{
			name: "current names with STS token",
			env: map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sec",
				"ALIBABA_CLOUD_SECURITY_TOKEN": "tok"},
			want: Credentials{AccessKeyID: "STS.id", AccessKeySecret: "sec", SecurityToken: "tok"},
		},
		{
			name: "legacy terraform names",
			env:  map[string]string{"ALICLOUD_ACCESS_KEY": "old", "ALICLOUD_SECRET_KEY": "oldsec", "ALICLOUD_SECURITY_TOKEN": "oldtok"},
			want: Credentials{AccessKeyID: "old", AccessKeySecret: "oldsec", SecurityToken: "oldtok"},
		},
		{
			name: "current names win over legacy",
			env: map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "new", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "newsec",
				"ALICLOUD_ACCESS_KEY": "old", "ALICLOUD_SECRET_KEY": "oldsec"},
			want: Credentials{AccessKeyID: "new", AccessKeySecret: "newsec"},
		},
		{
			name: "incomplete current pair falls back to complete legacy pair",
			env:  map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "new", "ALICLOUD_ACCESS_KEY": "old", "ALICLOUD_SECRET_KEY": "oldsec"},
			want: Credentials{AccessKeyID: "old", AccessKeySecret: "oldsec"},
		},
		{
			name:    "nothing set names every variable",
			env:     map[string]string{},
			wantErr: []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_SECURITY_TOKEN"},
		},
		{
			name:    "half a pair says which half is missing, not the value",
			env:     map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "topsecret"},
			wantErr: []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET is set but ALIBABA_CLOUD_ACCESS_KEY_ID is not"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CredentialsFromEnv(envMap(tt.env))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				for _, v := range tt.env {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error %q leaks the value %q", err, v)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRegionFromEnv(t *testing.T) {
	if r := RegionFromEnv(envMap(map[string]string{"ALICLOUD_REGION": "cn-beijing"})); r != "cn-beijing" {
		t.Errorf("legacy region: %q", r)
	}
	if r := RegionFromEnv(envMap(map[string]string{"ALICLOUD_REGION": "cn-beijing", "ALIBABA_CLOUD_REGION_ID": "cn-shanghai"})); r != "cn-shanghai" {
		t.Errorf("current name must win: %q", r)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	cred := Credentials{AccessKeyID: "LTAI5tSECRETID", AccessKeySecret: "s3cr3t-value", SecurityToken: "sts-token-value"}
	c, err := New(Config{Region: "cn-hangzhou", Credentials: &cred})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		cred.String(), fmt.Sprintf("%v", cred), fmt.Sprintf("%+v", cred), fmt.Sprintf("%#v", cred),
		fmt.Sprintf("%v", &cred), c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", *c),
	} {
		for _, secret := range []string{"s3cr3t-value", "sts-token-value", "SECRETID"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
	if !strings.Contains(cred.String(), "LTAI****") || !strings.Contains(cred.String(), "STS") {
		t.Errorf("String should still identify the key: %s", cred)
	}
	vn := CreateVirtualNodeRequest{VirtualNodeName: "vn", KubeConfig: "client-key-data: abc"}
	if strings.Contains(fmt.Sprintf("%v %+v", vn, &vn), "client-key-data") {
		t.Error("kubeconfig printed")
	}
}

func TestNewConfigErrors(t *testing.T) {
	cred := &Credentials{AccessKeyID: "id", AccessKeySecret: "sec"}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no region", Config{Credentials: cred, Getenv: envMap(nil)}, "ALIBABA_CLOUD_REGION_ID"},
		{"bad region", Config{Region: "cn hangzhou", Credentials: cred}, "region"},
		{"no credentials", Config{Region: "cn-hangzhou", Getenv: envMap(nil)}, "ALIBABA_CLOUD_ACCESS_KEY_ID"},
		{"half credentials", Config{Region: "cn-hangzhou", Credentials: &Credentials{AccessKeyID: "id"}}, "AccessKeySecret is empty"},
		{"endpoint with path", Config{Region: "cn-hangzhou", Credentials: cred, Endpoint: "http://127.0.0.1:1/x"}, "no path"},
		{"bad scheme", Config{Region: "cn-hangzhou", Credentials: cred, Scheme: "ftp"}, "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error containing %q, got %v", tt.want, err)
			}
			if !strings.HasPrefix(err.Error(), "eci: configure client: ") {
				t.Errorf("error should say what was being done: %v", err)
			}
		})
	}
}

func TestEndpointResolution(t *testing.T) {
	cred := &Credentials{AccessKeyID: "id", AccessKeySecret: "sec"}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Region: "cn-hangzhou"}, "https://eci.cn-hangzhou.aliyuncs.com"},
		{Config{Region: "ap-southeast-1", UseVPCEndpoint: true}, "https://eci-vpc.ap-southeast-1.aliyuncs.com"},
		{Config{Region: "cn-hangzhou", Endpoint: "eci-vpc.cn-hangzhou.aliyuncs.com"}, "https://eci-vpc.cn-hangzhou.aliyuncs.com"},
		{Config{Region: "cn-hangzhou", Endpoint: "127.0.0.1:8080", Scheme: "http"}, "http://127.0.0.1:8080"},
		{Config{Region: "cn-hangzhou", Endpoint: "http://127.0.0.1:8080", Scheme: "HTTPS"}, "http://127.0.0.1:8080"},
		{Config{Region: "cn-hangzhou", Endpoint: "https://eci.example.test/"}, "https://eci.example.test"},
	}
	for _, tt := range tests {
		tt.cfg.Credentials = cred
		c, err := New(tt.cfg)
		if err != nil {
			t.Fatalf("%+v: %v", tt.cfg, err)
		}
		if got := c.Endpoint(); got != tt.want {
			t.Errorf("endpoint for %+v = %s, want %s", tt.cfg, got, tt.want)
		}
	}
}

func TestEnvFallbackInNew(t *testing.T) {
	c, err := New(Config{Getenv: envMap(map[string]string{
		"ALICLOUD_REGION": "cn-shanghai", "ALICLOUD_ACCESS_KEY": "id", "ALICLOUD_SECRET_KEY": "sec",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Region() != "cn-shanghai" || c.Endpoint() != "https://eci.cn-shanghai.aliyuncs.com" {
		t.Errorf("region %s endpoint %s", c.Region(), c.Endpoint())
	}
}
