package install

import (
	"bytes"
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

func schemaGVK(apiVersion, kind string) schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}

// Unstructured converts o to what is sent to the API server: the fields it sets,
// without the empty status and creationTimestamp the API types always carry, which
// would otherwise be claimed by the field manager and printed by render.
func Unstructured(o Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", describe(o), err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if spec, ok := m["spec"].(map[string]any); ok {
		if tmpl, ok := spec["template"].(map[string]any); ok {
			if md, ok := tmpl["metadata"].(map[string]any); ok {
				delete(md, "creationTimestamp")
			}
		}
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// YAML renders objs as one multi-document YAML stream, "---" between objects.
func YAML(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		u, err := Unstructured(o)
		if err != nil {
			return nil, err
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("render %s as YAML: %w", describe(o), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// Apply writes objs in order by server-side apply under FieldManager, forcing
// conflicts: the installation owns every field it renders, and a field it stops
// rendering is removed on the next Apply.
func Apply(ctx context.Context, client dynamic.Interface, objs []Object) error {
	for _, o := range objs {
		u, err := Unstructured(o)
		if err != nil {
			return err
		}
		_, err = resourceFor(client, o).Apply(ctx, o.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("apply %s: %w", describe(o), err)
		}
	}
	return nil
}

// Delete removes objs in reverse order — a Deployment before the identity it runs as, a
// namespace last — and counts an object that is already gone as deleted. It does not
// wait for the objects to disappear (a namespace takes a while).
func Delete(ctx context.Context, client dynamic.Interface, objs []Object) error {
	background := metav1.DeletePropagationBackground
	for i := len(objs) - 1; i >= 0; i-- {
		o := objs[i]
		err := resourceFor(client, o).Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", describe(o), err)
		}
	}
	return nil
}

// resourceFor finds the API resource of o. Every kind rendered here has the regular
// plural (namespaces, clusterroles, ...), so no discovery round trip is needed.
func resourceFor(client dynamic.Interface, o Object) dynamic.ResourceInterface {
	gvr, _ := meta.UnsafeGuessKindToResource(o.GetObjectKind().GroupVersionKind())
	if ns := o.GetNamespace(); ns != "" {
		return client.Resource(gvr).Namespace(ns)
	}
	return client.Resource(gvr)
}

func describe(o Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", kind, ns, o.GetName())
	}
	return fmt.Sprintf("%s %s", kind, o.GetName())
}
