package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// settle gives every flag its value by precedence: command line, then the
// environment (ECI_VNODE_<FLAG_NAME>), then the optional config file (a YAML
// map of flag names to values), then the default. One mechanism serves all
// three sources, so a setting never means different things in each.
func settle(fs *flag.FlagSet, args []string, configFlag string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var fileVals map[string]any
	if path := fs.Lookup(configFlag).Value.String(); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read config file: %w", err)
		}
		if err := yaml.Unmarshal(raw, &fileVals); err != nil {
			return fmt.Errorf("parse config file %s: %w", path, err)
		}
		var unknown []string
		for k := range fileVals {
			if fs.Lookup(k) == nil {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("config file %s: unknown settings %s (the keys are the flag names, see --help)", path, strings.Join(unknown, ", "))
		}
	}

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s: %w", envName(f.Name), e)
			}
			return
		}
		if v, ok := fileVals[f.Name]; ok {
			if e := fs.Set(f.Name, fileValue(v)); e != nil {
				err = fmt.Errorf("config file setting %s: %w", f.Name, e)
			}
		}
	})
	return err
}

// envName is the environment variable of a flag: --cluster-name is
// ECI_VNODE_CLUSTER_NAME.
func envName(flagName string) string {
	return "ECI_VNODE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fileValue renders a YAML value as the flag syntax: lists become
// comma-separated, maps k=v pairs.
func fileValue(v any) string {
	switch t := v.(type) {
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + fmt.Sprint(t[k])
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// listFlag is a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// mapFlag is a comma-separated list of key=value pairs.
type mapFlag map[string]string

func (m *mapFlag) String() string {
	keys := make([]string, 0, len(*m))
	for k := range *m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + (*m)[k]
	}
	return strings.Join(parts, ",")
}

func (m *mapFlag) Set(s string) error {
	out := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not key=value", p)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	*m = out
	return nil
}
