package emulator

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
)

// A container's process. When Config.Images configures the container's
// image, the ImageBehaviour says what the process does. Otherwise, when
// the container's command is something the shell interpreter can run (see
// interpretable), the interpreter runs it once, at the process's start,
// on a virtual clock: its output becomes the container log, stamped with
// the virtual time each line was written; `sleep N` moves the virtual
// clock, so the process exits N seconds of emulator time later; `sleep
// infinity`, or reading a stdin that never ends, makes it run forever.
// Anything else (no command, an ordinary program, a script using shell
// features the interpreter lacks) gets the default behaviour:
// Config.DefaultImage / DefaultInitImage, else run forever (app
// containers) or exit 0 after 1 s (init containers).

// processPlan is what one run of a container's process does.
type processPlan struct {
	out       []logEntry
	every     time.Duration // periodic line (ImageBehaviour.LogEvery)
	everyLine string
	runFor    time.Duration // until exit, unless forever
	forever   bool
	exitCode  int
	oom       bool
}

// planFromBehaviour is the process an ImageBehaviour describes.
func planFromBehaviour(b ImageBehaviour) processPlan {
	p := processPlan{every: b.LogEvery, everyLine: b.LogLine, runFor: b.RunFor, forever: b.RunFor <= 0,
		exitCode: b.ExitCode, oom: b.OOMKilled}
	for _, l := range b.Logs {
		p.out = append(p.out, logEntry{Text: l})
	}
	return p
}

// argv is the container's command line: Command followed by Args. An
// image's own entrypoint is unknown to the emulator, so Args without a
// Command are taken as the whole command line (as for images without an
// entrypoint, such as busybox).
func (c *ctr) argv() []string {
	return append(append([]string(nil), c.spec.Commands...), c.spec.Args...)
}

// interpretable reports whether a command line is run by the interpreter:
// its first word (without directory) is a shell or a command the
// interpreter implements. `env` counts only without arguments: with
// arguments it runs another program.
func interpretable(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	switch path.Base(argv[0]) {
	case "sh", "bash", "ash", "dash", "echo", "exit", "sleep", "true", "false", ":", "cat", "printenv", "hostname", "pwd", "ls":
		return true
	case "env":
		return len(argv) == 1
	}
	return false
}

// planProcess decides what a container's process does on this start.
func (g *group) planProcess(c *ctr) processPlan {
	if !c.configured {
		if argv := c.argv(); interpretable(argv) {
			if p, ok := g.simulate(c, argv); ok {
				return p
			}
		}
	}
	return planFromBehaviour(c.beh)
}

// simulate runs argv through the interpreter on a virtual clock; ok is
// false if the command uses something the interpreter cannot run.
func (g *group) simulate(c *ctr, argv []string) (processPlan, bool) {
	sh := g.shellFor(c)
	sim := &simulation{}
	sh.sim = sim
	var stdin io.Reader
	if c.spec.Stdin {
		stdin = endlessInput{} // attached stdin that nobody writes to
	}
	out := simWriter{sim}
	code, end := sh.runContainer(argv, stdin, out, out)
	sim.flush()
	switch end {
	case endUnsupported:
		return processPlan{}, false
	case endForever:
		return processPlan{out: sim.out, forever: true}, true
	}
	return processPlan{out: sim.out, runFor: sim.elapsed, exitCode: code}, true
}

// simulation is the state of a container command being interpreted: the
// virtual time since the process started and the log written so far.
type simulation struct {
	elapsed time.Duration
	out     []logEntry
	partial strings.Builder
	started time.Duration // when the partial line was begun
}

// maxSimulatedTime caps the total of a command's sleeps; longer is forever.
const maxSimulatedTime = 100 * 365 * 24 * time.Hour

func (s *simulation) sleep(d time.Duration) {
	if d >= maxSimulatedTime-s.elapsed {
		panic(blockForever{})
	}
	s.elapsed += d
}

// write splits output into log lines, each stamped when it was begun.
func (s *simulation) write(p []byte) {
	for _, b := range p {
		if s.partial.Len() == 0 {
			s.started = s.elapsed
		}
		if b == '\n' {
			s.out = append(s.out, logEntry{At: s.started, Text: s.partial.String()})
			s.partial.Reset()
			continue
		}
		s.partial.WriteByte(b)
	}
}

// flush ends an unterminated last line.
func (s *simulation) flush() {
	if s.partial.Len() > 0 {
		s.write([]byte{'\n'})
	}
}

// simWriter is stdout and stderr of a simulated process: both go to the
// container log.
type simWriter struct{ s *simulation }

func (w simWriter) Write(p []byte) (int, error) {
	w.s.write(p)
	return len(p), nil
}

// endlessInput is a stdin that never delivers anything nor ends: a read
// blocks the process for good.
type endlessInput struct{}

func (endlessInput) Read([]byte) (int, error) { panic(blockForever{}) }

// How a simulated command ended, besides exiting.
type simEnd int

const (
	endExited simEnd = iota
	endForever
	endUnsupported
)

// blockForever unwinds a simulated command that never finishes.
type blockForever struct{}

// unsupportedCommand unwinds a simulated command that uses something the
// interpreter cannot run.
type unsupportedCommand struct{ what string }

// runContainer runs a container's command line.
func (sh *shell) runContainer(argv []string, stdin io.Reader, stdout, stderr io.Writer) (code int, end simEnd) {
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case exitRequest:
				code, end = e.code, endExited
			case blockForever:
				code, end = 0, endForever
			case unsupportedCommand:
				code, end = 0, endUnsupported
			default:
				panic(r)
			}
		}
	}()
	return sh.exec(argv, stdin, stdout, stderr, false), endExited
}

// Shell words the interpreter does not implement: keywords, and builtins
// every shell has (so "not found" would be wrong). A simulated command
// using one falls back to the default behaviour.
var unsupportedWords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "for": true, "while": true, "until": true,
	"do": true, "done": true, "case": true, "esac": true, "function": true, "select": true, "!": true, "{": true,
	"}": true, "[[": true, "]]": true, "[": true, "test": true, "cd": true, "export": true, "unset": true,
	"read": true, "trap": true, "wait": true, "source": true, ".": true, "eval": true, "shift": true,
	"local": true, "return": true, "break": true, "continue": true, "ulimit": true, "umask": true,
	"alias": true, "type": true, "command": true, "readonly": true, "getopts": true, "printf": true,
	"kill": true, "let": true, "declare": true, "typeset": true, "times": true, "jobs": true, "hash": true,
}

// simExec handles, for a simulated container command, the words that
// behave differently from an exec session: shells, sleep, exec, set, and
// everything unsupported. handled is false for the commands both share.
func (sh *shell) simExec(argv []string, stdin io.Reader, stdout, stderr io.Writer) (code int, handled bool) {
	name := path.Base(argv[0])
	args := argv[1:]
	if unsupportedWords[name] {
		panic(unsupportedCommand{name})
	}
	if k, _, ok := strings.Cut(argv[0], "="); ok && isName(k) {
		panic(unsupportedCommand{"variable assignment"})
	}
	switch name {
	case "sh", "bash", "ash", "dash":
		return sh.simShell(args, stdin, stdout, stderr), true
	case "sleep":
		d, err := sleepDuration(args)
		if errors.Is(err, errSleepForever) {
			panic(blockForever{})
		}
		if err != nil {
			fmt.Fprintf(stderr, "sleep: %v\n", err)
			return 1, true
		}
		sh.sim.sleep(d)
		return 0, true
	case ":":
		return 0, true
	case "env":
		if len(args) > 0 {
			panic(unsupportedCommand{"env with arguments"})
		}
	case "exec":
		if len(args) == 0 {
			return 0, true
		}
		panic(exitRequest{sh.exec(args, stdin, stdout, stderr, false)})
	case "set":
		for _, a := range args {
			on := strings.HasPrefix(a, "-")
			if !on && !strings.HasPrefix(a, "+") || len(a) < 2 {
				panic(unsupportedCommand{"set " + a})
			}
			for _, f := range a[1:] {
				switch f {
				case 'e':
					sh.errexit = on
				case 'x':
					sh.xtrace = on
				default:
					panic(unsupportedCommand{"set " + a})
				}
			}
		}
		return 0, true
	}
	return 0, false
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// simShell runs `sh [-ex] -c SCRIPT [NAME [ARG...]]`, `sh FILE` or an
// interactive sh in a child shell, which has its own options and whose
// `exit` ends only itself.
func (sh *shell) simShell(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	child := *sh
	child.errexit, child.xtrace = false, false
	script, hasScript := "", false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && !hasScript {
		opt := args[0]
		args = args[1:]
		for _, f := range opt[1:] {
			switch f {
			case 'c':
				if len(args) == 0 {
					fmt.Fprintf(stderr, "sh: -c requires an argument\n")
					return 2
				}
				script, hasScript, args = args[0], true, args[1:]
			case 'e':
				child.errexit = true
			case 'x':
				child.xtrace = true
			case 'i', 's', 'l':
				// interactive, commands from stdin, login: nothing to do
			default:
				panic(unsupportedCommand{"sh option " + opt})
			}
		}
	}
	switch {
	case hasScript:
	case len(args) > 0 && args[0] != "-":
		content, ok := sh.files[sh.abs(args[0])]
		if !ok {
			// The image may well have the script; the emulator cannot know.
			panic(unsupportedCommand{"sh " + args[0]})
		}
		script = content
	default:
		// Interactive: it reads stdin, which is empty or never ends.
		if stdin != nil {
			_, _ = io.Copy(io.Discard, stdin)
		}
		return 0
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = e.code
		}
	}()
	return child.simScript(script, stdin, stdout, stderr)
}

// simScript runs a script line by line with ';', newlines, '&&', '||',
// comments and the errexit and xtrace options. It is script (shell.go)
// plus what container commands use and exec sessions do not: the
// multi-line preparation and the two options; both share parse, exec and
// listSkips.
func (sh *shell) simScript(script string, stdin io.Reader, stdout, stderr io.Writer) int {
	line, err := simPrepare(script)
	if err != nil {
		panic(unsupportedCommand{err.Error()})
	}
	cmds, ops, err := sh.parse(line)
	if err != nil {
		fmt.Fprintf(stderr, "sh: syntax error: %v\n", err)
		return 2
	}
	code := 0
	for i, argv := range cmds {
		if i > 0 && listSkips(ops[i-1], code) {
			continue
		}
		if sh.xtrace {
			fmt.Fprintf(stderr, "+ %s\n", strings.Join(argv, " "))
		}
		code = sh.exec(argv, stdin, stdout, stderr, false)
		// errexit ignores a failure that an && or || still tests.
		lastOfList := i == len(cmds)-1 || ops[i] == ";"
		if sh.errexit && code != 0 && lastOfList {
			panic(exitRequest{code})
		}
	}
	return code
}

// simPrepare checks a script for shell syntax the interpreter lacks and
// rewrites what it can run into the single-line form parse reads:
// unquoted newlines separate commands (or continue an && / || list),
// comments and backslash-newlines go. Unsupported: pipes, redirections,
// background jobs, subshells and groups, command substitution, globs,
// special and positional parameters, and ${...} beyond a plain name.
func simPrepare(script string) (string, error) {
	var b strings.Builder
	wordStart := true
	unsupported := func(what string) (string, error) { return "", errors.New(what) }
	for i := 0; i < len(script); i++ {
		ch := script[i]
		switch {
		case ch == '\'':
			end := strings.IndexByte(script[i+1:], '\'')
			if end < 0 {
				b.WriteString(script[i:]) // parse reports the open quote
				return b.String(), nil
			}
			b.WriteString(script[i : i+end+2])
			i += end + 1
			wordStart = false
		case ch == '"':
			j := i + 1
			for ; j < len(script) && script[j] != '"'; j++ {
				switch script[j] {
				case '\\':
					j++
				case '`':
					return unsupported("command substitution")
				case '$':
					if err := checkDollar(script, j); err != nil {
						return "", err
					}
				}
			}
			b.WriteString(script[i:min(j+1, len(script))])
			i = j
			wordStart = false
		case ch == '\\':
			if i+1 < len(script) && script[i+1] == '\n' {
				i++
				continue
			}
			b.WriteString(script[i:min(i+2, len(script))])
			i++
			wordStart = false
		case ch == '#' && wordStart:
			for i+1 < len(script) && script[i+1] != '\n' {
				i++
			}
		case ch == '\n':
			s := strings.TrimRight(b.String(), " \t")
			if s == "" || strings.HasSuffix(s, "&&") || strings.HasSuffix(s, "||") || strings.HasSuffix(s, ";") {
				b.WriteByte(' ')
			} else {
				b.WriteByte(';')
			}
			wordStart = true
		case ch == '|' || ch == '&':
			if i+1 < len(script) && script[i+1] == ch {
				b.WriteString(script[i : i+2])
				i++
				wordStart = true
				continue
			}
			if ch == '|' {
				return unsupported("pipe")
			}
			return unsupported("background job")
		case strings.IndexByte("<>(){}`*?[~", ch) >= 0:
			return unsupported(fmt.Sprintf("%q", ch))
		case ch == '$':
			if err := checkDollar(script, i); err != nil {
				return "", err
			}
			b.WriteByte(ch)
			if i+1 < len(script) && script[i+1] == '{' {
				end := strings.IndexByte(script[i:], '}')
				b.WriteString(script[i+1 : i+end+1])
				i += end
			}
			wordStart = false
		case ch == ' ' || ch == '\t' || ch == ';':
			b.WriteByte(ch)
			wordStart = true
		default:
			b.WriteByte(ch)
			wordStart = false
		}
	}
	return b.String(), nil
}

// checkDollar accepts $NAME, ${NAME} and a lone $ at script[i].
func checkDollar(script string, i int) error {
	if i+1 >= len(script) {
		return nil
	}
	switch next := script[i+1]; {
	case next == '(':
		return errors.New("command substitution")
	case next == '{':
		end := strings.IndexByte(script[i:], '}')
		if end < 0 || !isName(script[i+2:i+end]) {
			return errors.New("parameter expansion")
		}
	case next >= '0' && next <= '9' || strings.IndexByte("@*#?$!-", next) >= 0:
		return errors.New("special parameter $" + string(next))
	}
	return nil
}

var errSleepForever = errors.New("forever")

// sleepDuration reads sleep's operands: numbers (fractions allowed) with
// an optional s, m, h or d suffix, added up; "inf"/"infinity" is forever.
func sleepDuration(args []string) (time.Duration, error) {
	if len(args) == 0 {
		return 0, errors.New("missing operand")
	}
	var total float64
	for _, a := range args {
		if a == "inf" || a == "infinity" {
			return 0, errSleepForever
		}
		num, unit := a, 1.0
		if n := len(a); n > 0 {
			switch a[n-1] {
			case 's':
				num = a[:n-1]
			case 'm':
				num, unit = a[:n-1], 60
			case 'h':
				num, unit = a[:n-1], 3600
			case 'd':
				num, unit = a[:n-1], 86400
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || math.IsNaN(f) || strings.ContainsAny(num, "xXpP_") {
			return 0, fmt.Errorf("invalid time interval '%s'", a)
		}
		total += f * unit
	}
	if total*float64(time.Second) >= float64(maxSimulatedTime) {
		return 0, errSleepForever
	}
	return time.Duration(total * float64(time.Second)), nil
}
