package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// execPath is where ExecContainerCommand's WebSocketUri points.
const execPath = "/exec/"

// Exec websocket framing (the real protocol is undocumented; this one is
// the emulator's, see README.md). Every message is binary; its first byte
// is the stream:
//
//	client -> server: 0 stdin data (an empty payload closes stdin),
//	                  4 terminal resize, JSON {"Width":w,"Height":h}
//	                    (with TTY; `stty size` prints it)
//	server -> client: 1 stdout, 2 stderr,
//	                  3 exit status, JSON {"ExitCode":n}, sent last
//
// A text message from the client is taken as stdin data. After the exit
// status the server closes the socket normally.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamStatus = 3
	streamResize = 4
)

// ExecStatus is the payload of the exit status frame.
type ExecStatus struct {
	ExitCode int `json:"ExitCode"`
}

// frameWriter sends one stream's writes as frames.
type frameWriter struct {
	mu     *sync.Mutex
	conn   *websocket.Conn
	stream byte
}

func (w frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	msg := append([]byte{w.stream}, p...)
	_ = w.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := w.conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *Emulator) serveExecWebsocket(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := "Success"
	defer func() { e.stats.record("ExecWebSocket", code, time.Since(start)) }()
	tok := r.URL.Query().Get("s")
	e.mu.Lock()
	e.st.advance(e.clock.Now())
	sess, ok := e.st.execSessions[tok]
	delete(e.st.execSessions, tok) // one-shot
	e.mu.Unlock()
	if !ok {
		code = "InvalidToken"
		http.Error(w, "exec session not found or expired", http.StatusForbidden)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		code = "UpgradeFailed"
		return // Upgrade already answered the client
	}
	e.wsMu.Lock()
	select {
	case <-e.closed:
		e.wsMu.Unlock()
		_ = conn.Close()
		return
	default:
	}
	e.wsConns[conn] = true
	e.wsMu.Unlock()
	defer func() {
		e.wsMu.Lock()
		delete(e.wsConns, conn)
		e.wsMu.Unlock()
		_ = conn.Close()
	}()

	if sess.tty {
		sess.sh.term = &ttySize{}
	}
	stdinR, stdinW := io.Pipe()
	go func() {
		defer stdinW.Close()
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if typ == websocket.TextMessage {
				if _, err := stdinW.Write(msg); err != nil {
					return
				}
				continue
			}
			if len(msg) == 0 {
				continue
			}
			switch msg[0] {
			case streamStdin:
				if len(msg) == 1 {
					return // EOF
				}
				if _, err := stdinW.Write(msg[1:]); err != nil {
					return
				}
			case streamResize:
				var size struct{ Width, Height int }
				if sess.sh.term != nil && json.Unmarshal(msg[1:], &size) == nil {
					sess.sh.term.resize(size.Width, size.Height)
				}
			}
		}
	}()
	var mu sync.Mutex
	stdout := frameWriter{&mu, conn, streamStdout}
	stderr := frameWriter{&mu, conn, streamStderr}
	var in io.Reader = stdinR
	if !sess.stdin {
		in = nil
	}
	exit := sess.sh.run(sess.argv, in, stdout, stderr, sess.tty)
	_ = stdinR.Close()
	status, _ := json.Marshal(ExecStatus{ExitCode: exit})
	_, _ = frameWriter{&mu, conn, streamStatus}.Write(status)
	mu.Lock()
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	mu.Unlock()
}
