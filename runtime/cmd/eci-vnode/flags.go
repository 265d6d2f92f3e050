package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// settings are the flags of one subcommand, where each value came from, and
// every problem found with them. Problems are collected rather than returned
// one by one, so an operator fixes a manifest in one round instead of one
// restart per mistake; each names the flag and its environment variables,
// since in a cluster settings usually arrive through the environment.
type settings struct {
	cmd string // "eci-vnode node", for messages
	fs  *flag.FlagSet
	// moreEnv lists the variables besides ECI_VNODE_<FLAG> that a flag's
	// default comes from, e.g. region: ALIBABA_CLOUD_REGION_ID.
	moreEnv  map[string][]string
	from     map[string]string // flag -> "ECI_VNODE_X" or "config file f", when not the command line
	problems []string
	// failedSet is the flag whose value was just refused, so the flag
	// package's error for it is not reported a second time.
	failedSet string
	// reported holds the flags with a problem already: a flag gets one,
	// since later checks of a refused value only see what is left of it
	// (the flag package zeroes a number it cannot parse).
	reported map[string]bool
}

func newSettings(cmd string) *settings {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	return &settings{cmd: cmd, fs: fs, moreEnv: map[string][]string{}, from: map[string]string{}, reported: map[string]bool{}}
}

// label names a flag and every environment variable it can come from, the
// way node.FlagRef does: "--region / ECI_VNODE_REGION (or
// ALIBABA_CLOUD_REGION_ID, ALICLOUD_REGION)".
func (s *settings) label(name string) string {
	l := "--" + name + " / " + envName(name)
	if more := s.moreEnv[name]; len(more) > 0 {
		l += " (or " + strings.Join(more, ", ") + ")"
	}
	return l
}

// problem records one problem with a flag's value. The value's source is
// added when it was not the command line.
func (s *settings) problem(name, format string, a ...any) {
	if s.reported[name] {
		return
	}
	s.reported[name] = true
	msg := fmt.Sprintf(format, a...)
	if src, ok := s.from[name]; ok {
		msg += " (set by " + src + ")"
	}
	s.problems = append(s.problems, s.label(name)+": "+msg)
}

// flagMention finds --flag-name in a message.
var flagMention = regexp.MustCompile(`--([a-z0-9][a-z0-9-]*)`)

// include records the problems of err (each of an errors.Join, or err
// itself), as found by code that knows the settings by their flag names
// (node.Config.Validate). A problem is attributed to the first flag it
// mentions: it is dropped if that flag has a problem already, and prefixed
// with the flag's label unless it names the flag's environment variable
// itself. A problem that names no flag is kept as it is.
func (s *settings) include(err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		msg := oneLine(e.Error())
		if m := flagMention.FindStringSubmatch(msg); m != nil && s.fs.Lookup(m[1]) != nil {
			name := m[1]
			if s.reported[name] {
				continue
			}
			s.reported[name] = true
			if !strings.Contains(msg, envName(name)) {
				msg = s.label(name) + ": " + msg
			}
		}
		s.problems = append(s.problems, msg)
	}
}

// report prints every problem as one list and returns the exit code of a
// usage error, or 0 when there is nothing to report.
func (s *settings) report(w io.Writer) int {
	if len(s.problems) == 0 {
		return 0
	}
	noun := "problem"
	if len(s.problems) > 1 {
		noun = "problems"
	}
	fmt.Fprintf(w, "%s: %d %s with the settings (flags, their ECI_VNODE_* environment variables, or --config):\n", s.cmd, len(s.problems), noun)
	for _, p := range s.problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	fmt.Fprintf(w, "See %s --help.\n", s.cmd)
	return 2
}

// settle gives every flag its value by precedence: command line, then the
// environment (ECI_VNODE_<FLAG_NAME>), then the optional config file (a YAML
// map of flag names to values), then the default. One mechanism serves all
// three sources, so a setting never means different things in each. Bad
// values from any source are recorded as problems and parsing goes on. It
// reports whether help was asked for, after printing it to out.
func (s *settings) settle(args []string, configFlag string, getenv func(string) string, out io.Writer) (help bool) {
	fs := s.flags()
	restore := s.watchValues()
	defer restore()

	set := map[string]bool{}
	rest := args
	for {
		s.failedSet = ""
		err := fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			restore()
			s.usage(out)
			return true
		}
		if err != nil {
			if s.failedSet == "" { // an unknown flag or a missing value: no Set was called
				s.problems = append(s.problems, s.parseProblem(err))
			}
			rest = fs.Args()
			continue
		}
		if fs.NArg() == 0 {
			break
		}
		s.problems = append(s.problems, fmt.Sprintf("unexpected argument %q (every setting is a --flag)", fs.Arg(0)))
		rest = fs.Args()[1:]
	}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if v := getenv(envName(configFlag)); v != "" && !set[configFlag] {
		s.from[configFlag] = envName(configFlag)
		_ = fs.Set(configFlag, v)
	}
	var fileVals map[string]any
	path := fs.Lookup(configFlag).Value.String()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			s.problem(configFlag, "cannot read the config file: %v", err)
		} else if err := yaml.Unmarshal(raw, &fileVals); err != nil {
			s.problem(configFlag, "config file %s is not a YAML map of flag names to values: %v", path, oneLine(err.Error()))
			fileVals = nil
		}
		var unknown []string
		for k := range fileVals {
			if fs.Lookup(k) == nil {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			s.problem(configFlag, "config file %s has unknown settings %s (the keys are the flag names, see --help)", path, strings.Join(unknown, ", "))
		}
	}

	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == configFlag {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			s.from[f.Name] = envName(f.Name)
			_ = fs.Set(f.Name, v) // a bad value is recorded by the watcher
			return
		}
		if v, ok := fileVals[f.Name]; ok {
			s.from[f.Name] = "config file " + path
			_ = fs.Set(f.Name, fileValue(v))
		}
	})
	return false
}

// flags returns the flag set, silenced: the flag package would print every
// parse error and the whole usage text for each; settle reports instead.
func (s *settings) flags() *flag.FlagSet {
	s.fs.SetOutput(io.Discard)
	s.fs.Usage = func() {}
	return s.fs
}

func (s *settings) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s [flags]\n\nEvery flag can also be set by the environment variable ECI_VNODE_<FLAG_NAME> (--cluster-name: ECI_VNODE_CLUSTER_NAME)\nor as a key of the YAML file given by --config. The command line wins over the environment, which wins over the file.\n\n", s.cmd)
	s.fs.SetOutput(w)
	s.fs.PrintDefaults()
	s.fs.SetOutput(io.Discard)
}

// watchValues wraps every flag's Value so a value refused by its Set is
// recorded as a problem naming the flag, whichever source it came from. It
// returns a function that puts the original Values back (for help output,
// which inspects their types).
func (s *settings) watchValues() (restore func()) {
	orig := map[string]flag.Value{}
	s.fs.VisitAll(func(f *flag.Flag) {
		orig[f.Name] = f.Value
		f.Value = &watchedValue{Value: f.Value, name: f.Name, s: s}
	})
	return func() {
		s.fs.VisitAll(func(f *flag.Flag) {
			if v, ok := orig[f.Name]; ok {
				f.Value = v
			}
		})
	}
}

type watchedValue struct {
	flag.Value
	name string
	s    *settings
}

func (w *watchedValue) Set(v string) error {
	err := w.Value.Set(v)
	if err != nil {
		w.s.failedSet = w.name
		w.s.problem(w.name, "%q %s", v, valueHint(w.Value, err))
	}
	return err
}

// IsBoolFlag keeps boolean flags usable without a value (--leader-elect).
func (w *watchedValue) IsBoolFlag() bool {
	b, ok := w.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// valueHint says what a flag of v's kind wants; the flag package's own
// errors for these are just "parse error".
func valueHint(v flag.Value, err error) string {
	if g, ok := v.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return "is not a duration; write it like 500ms, 10s, 2m or 1h30m"
		case int, int64, uint, uint64:
			return "is not a whole number"
		case float64:
			return "is not a number"
		case bool:
			return "is not true or false"
		}
	}
	return "is refused: " + oneLine(err.Error())
}

// parseProblem rewrites the flag package's errors for flags that never got
// to Set.
func (s *settings) parseProblem(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("unknown flag --%s (see %s --help)", name, s.cmd)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok && s.fs.Lookup(name) != nil {
		return s.label(name) + ": needs a value"
	}
	return oneLine(msg)
}

// The checks below are shared by the subcommands.

// positive records a problem unless d > 0.
func (s *settings) positive(name string, d time.Duration) {
	if d <= 0 {
		s.problem(name, "%s: want a duration above zero", d)
	}
}

// atLeast records a problem unless n >= min.
func (s *settings) atLeast(name string, n, min int) {
	if n < min {
		s.problem(name, "%d: want %d or more", n, min)
	}
}

// hostPort records a problem unless addr is host:port (the host may be
// empty: all addresses).
func (s *settings) hostPort(name, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		s.problem(name, "%q is not an address host:port (e.g. :8080 or 10.0.0.5:8080)", addr)
	}
}

// logLevels are the accepted --log-level values.
var logLevels = []string{"debug", "info", "warn", "error"}

// logLevel records a problem unless level is one of logLevels.
func (s *settings) logLevel(name, level string) {
	for _, l := range logLevels {
		if strings.EqualFold(level, l) {
			return
		}
	}
	s.problem(name, "%q is not a log level; use %s", level, strings.Join(logLevels, ", "))
}

// oneLine joins the lines of s with "; ", so every message and log value is
// a single line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var parts []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
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

// taintsFlag is --node-taints: whether it was given at all (absent leaves the
// runtime's default, present and empty means no taints) and its raw value,
// parsed after settling by install.ParseTaints, the one syntax the installation
// renders.
type taintsFlag struct {
	set bool
	raw string
}

func (f *taintsFlag) String() string { return f.raw }
func (f *taintsFlag) Set(s string) error {
	f.set, f.raw = true, s
	return nil
}

// taints parses --node-taints; nil when it was not given. A bad value is a
// problem naming every bad item and the accepted form.
func (s *settings) taints(name string, f taintsFlag) []install.Taint {
	if !f.set {
		return nil
	}
	ts, err := install.ParseTaints(f.raw)
	if err != nil {
		s.problem(name, "%s", err)
		return nil
	}
	return ts
}

// spot checks --spot-strategy and --spot-price-limit by install.CheckSpot, the
// rule the installation applies, and returns the price limit as a number.
func (s *settings) spot(strategyName, strategy, limitName, limit string) float64 {
	sp, lp := install.CheckSpot(strategy, limit)
	if sp != "" {
		s.problem(strategyName, "%s", sp)
	}
	if lp != "" {
		s.problem(limitName, "%s", lp)
	}
	price, _ := eci.ParseSpotPriceLimit(limit)
	return price
}
