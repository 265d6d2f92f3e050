package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
)

func TestProviderMetadataAndSchemaAreValid(t *testing.T) {
	p := New("1.2.3")()
	var meta provider.MetadataResponse
	p.Metadata(context.Background(), provider.MetadataRequest{}, &meta)
	if meta.TypeName != "eci" || meta.Version != "1.2.3" {
		t.Fatalf("metadata = %q %q, want eci 1.2.3", meta.TypeName, meta.Version)
	}
	var sch provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &sch)
	if sch.Diagnostics.HasError() {
		t.Fatalf("schema diagnostics: %v", sch.Diagnostics)
	}
	if diags := sch.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema implementation: %v", diags)
	}
}
