package emulator

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// shell is the small deterministic command interpreter behind exec, and
// behind a container's own command (program.go, where sim is set). It
// knows a container's environment, hostname, working directory and files
// (config file volumes and Config.Images[...].Files); it never runs a real
// process. Supported: echo [-n], cat [file...], env, printenv [name],
// hostname, pwd, ls [dir], stty size (exec with TTY), true, false, sleep
// N (returns at once in exec; takes virtual time in a container's
// command), exit [N], and sh/bash -c "<script>" or an interactive sh
// reading lines from stdin. Scripts
// support ';', '&&', '||', single/double quotes, backslash escapes and
// $NAME / ${NAME} expansion.
type shell struct {
	env      []envVar // in order
	hostname string
	workdir  string
	files    map[string]string
	// sim is set when the shell runs a container's own command rather
	// than an exec session (see program.go): sleep takes virtual time,
	// and shell features the interpreter lacks abort the run.
	sim             *simulation
	errexit, xtrace bool // set -e / set -x (container commands only)
	// term is the exec session's terminal, nil without a TTY; its size is
	// what the client last sent (`stty size` prints it).
	term *ttySize
}

// ttySize is the size of an exec session's TTY. The websocket reader sets
// it while the interpreter runs.
type ttySize struct {
	mu            sync.Mutex
	width, height int
}

func (t *ttySize) resize(width, height int) {
	t.mu.Lock()
	t.width, t.height = width, height
	t.mu.Unlock()
}

func (t *ttySize) size() (width, height int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.width, t.height
}

// exitRequest unwinds a script when "exit" runs.
type exitRequest struct{ code int }

// run executes argv; it returns the exit status.
func (sh *shell) run(argv []string, stdin io.Reader, stdout, stderr io.Writer, tty bool) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(exitRequest); ok {
				code = e.code
				return
			}
			panic(r)
		}
	}()
	return sh.exec(argv, stdin, stdout, stderr, tty)
}

func (sh *shell) lookupEnv(k string) (string, bool) {
	for i := len(sh.env) - 1; i >= 0; i-- {
		if sh.env[i].Key == k {
			return sh.env[i].Value, true
		}
	}
	return "", false
}

func (sh *shell) exec(argv []string, stdin io.Reader, stdout, stderr io.Writer, tty bool) int {
	if len(argv) == 0 {
		return 0
	}
	if sh.sim != nil {
		if code, handled := sh.simExec(argv, stdin, stdout, stderr); handled {
			return code
		}
	}
	name := path.Base(argv[0])
	args := argv[1:]
	switch name {
	case "sh", "bash", "ash", "dash":
		if len(args) >= 2 && args[0] == "-c" {
			return sh.script(args[1], stdin, stdout, stderr)
		}
		if len(args) > 0 && args[0] != "-i" && args[0] != "-" {
			fmt.Fprintf(stderr, "%s: can't open '%s': No such file or directory\n", name, args[0])
			return 127
		}
		return sh.interactive(stdin, stdout, stderr, tty)
	case "echo":
		nl := true
		if len(args) > 0 && args[0] == "-n" {
			nl, args = false, args[1:]
		}
		io.WriteString(stdout, strings.Join(args, " "))
		if nl {
			io.WriteString(stdout, "\n")
		}
		return 0
	case "cat":
		if len(args) == 0 {
			if stdin != nil {
				_, _ = io.Copy(stdout, stdin)
			}
			return 0
		}
		code := 0
		for _, f := range args {
			content, ok := sh.files[sh.abs(f)]
			if !ok {
				fmt.Fprintf(stderr, "cat: %s: No such file or directory\n", f)
				code = 1
				continue
			}
			io.WriteString(stdout, content)
		}
		return code
	case "env":
		for _, e := range sh.env {
			fmt.Fprintf(stdout, "%s=%s\n", e.Key, e.Value)
		}
		return 0
	case "printenv":
		if len(args) == 0 {
			return sh.exec([]string{"env"}, stdin, stdout, stderr, tty)
		}
		code := 0
		for _, k := range args {
			if v, ok := sh.lookupEnv(k); ok {
				fmt.Fprintln(stdout, v)
			} else {
				code = 1
			}
		}
		return code
	case "hostname":
		fmt.Fprintln(stdout, sh.hostname)
		return 0
	case "pwd":
		fmt.Fprintln(stdout, sh.workdir)
		return 0
	case "ls":
		dir := sh.workdir
		if len(args) > 0 {
			dir = sh.abs(args[len(args)-1])
		}
		return sh.ls(dir, stdout, stderr)
	case "stty":
		// Only `stty size`, which prints "rows columns" of the terminal
		// (0 0 until the client sends a size), as a shell in a real TTY does.
		if len(args) != 1 || args[0] != "size" {
			fmt.Fprintf(stderr, "stty: only 'stty size' is supported\n")
			return 1
		}
		if sh.term == nil {
			fmt.Fprintln(stderr, "stty: standard input: Not a tty")
			return 1
		}
		w, h := sh.term.size()
		fmt.Fprintf(stdout, "%d %d\n", h, w)
		return 0
	case "true", "sleep":
		return 0
	case "false":
		return 1
	case "exit":
		code := 0
		if len(args) > 0 {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				fmt.Fprintf(stderr, "exit: %s: numeric argument required\n", args[0])
				n = 2
			}
			code = n & 0xff
		}
		panic(exitRequest{code})
	}
	fmt.Fprintf(stderr, "sh: %s: not found\n", argv[0])
	return 127
}

func (sh *shell) abs(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = sh.workdir + "/" + p
	}
	return path.Clean(p)
}

func (sh *shell) ls(dir string, stdout, stderr io.Writer) int {
	if _, ok := sh.files[dir]; ok {
		fmt.Fprintln(stdout, path.Base(dir))
		return 0
	}
	seen := map[string]bool{}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for f := range sh.files {
		if rest, ok := strings.CutPrefix(f, prefix); ok {
			first, _, _ := strings.Cut(rest, "/")
			seen[first] = true
		}
	}
	if len(seen) == 0 && dir != "/" {
		fmt.Fprintf(stderr, "ls: %s: No such file or directory\n", dir)
		return 1
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return 0
}

// interactive reads commands line by line until EOF or exit.
func (sh *shell) interactive(stdin io.Reader, stdout, stderr io.Writer, tty bool) int {
	if stdin == nil {
		return 0
	}
	sc := bufio.NewScanner(stdin)
	code := 0
	for {
		if tty {
			io.WriteString(stdout, "# ")
		}
		if !sc.Scan() {
			return code
		}
		code = sh.script(sc.Text(), nil, stdout, stderr)
	}
}

// script runs one command line with ';', '&&' and '||'.
func (sh *shell) script(line string, stdin io.Reader, stdout, stderr io.Writer) int {
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
		code = sh.exec(argv, stdin, stdout, stderr, false)
	}
	return code
}

// listSkips says whether the command after op is skipped, given the exit
// code of the one before: `a && b` runs b only if a succeeded, `a || b`
// only if it failed.
func listSkips(op string, code int) bool {
	return op == "&&" && code != 0 || op == "||" && code == 0
}

// parse splits a command line into commands and the operators between
// them, handling quotes, escapes and variable expansion.
func (sh *shell) parse(line string) ([][]string, []string, error) {
	var cmds [][]string
	var ops []string
	var cur []string
	var word strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			cur = append(cur, word.String())
			word.Reset()
			inWord = false
		}
	}
	flushCmd := func(op string) {
		flushWord()
		cmds = append(cmds, cur)
		cur = nil
		if op != "" {
			ops = append(ops, op)
		}
	}
	expand := func(s string, i int) (string, int) {
		// s[i] == '$'
		j := i + 1
		if j < len(s) && s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return "$", i + 1
			}
			v, _ := sh.lookupEnv(s[j+1 : j+end])
			return v, j + end + 1
		}
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i+1 {
			return "$", i + 1
		}
		v, _ := sh.lookupEnv(s[i+1 : j])
		return v, j
	}
	for i := 0; i < len(line); {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			flushWord()
			i++
		case ch == ';':
			flushCmd(";")
			i++
		case strings.HasPrefix(line[i:], "&&"):
			flushCmd("&&")
			i += 2
		case strings.HasPrefix(line[i:], "||"):
			flushCmd("||")
			i += 2
		case ch == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, nil, fmt.Errorf("unterminated quoted string")
			}
			word.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case ch == '"':
			i++
			closed := false
			for i < len(line) {
				c := line[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(line) && strings.ContainsRune("\"\\$`", rune(line[i+1])) {
					word.WriteByte(line[i+1])
					i += 2
					continue
				}
				if c == '$' {
					v, n := expand(line, i)
					word.WriteString(v)
					i = n
					continue
				}
				word.WriteByte(c)
				i++
			}
			if !closed {
				return nil, nil, fmt.Errorf("unterminated quoted string")
			}
			inWord = true
		case ch == '\\' && i+1 < len(line):
			word.WriteByte(line[i+1])
			inWord = true
			i += 2
		case ch == '$':
			v, n := expand(line, i)
			word.WriteString(v)
			inWord = true
			i = n
		default:
			word.WriteByte(ch)
			inWord = true
			i++
		}
	}
	flushCmd("")
	// Drop empty commands (e.g. a trailing ';') and their operators.
	var outC [][]string
	var outO []string
	for i, c := range cmds {
		if len(c) == 0 {
			continue
		}
		if len(outC) > 0 {
			outO = append(outO, ops[i-1])
		}
		outC = append(outC, c)
	}
	return outC, outO, nil
}
