package eci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The websocket behind ExecContainerCommand's WebSocketUri carries one
// command's standard streams. Alibaba Cloud documents the URI but not the
// messages on it (the ExecContainerCommand page and "Use and integrate the
// ECI Terminal",
// https://www.alibabacloud.com/help/en/eci/use-cases/use-and-integrate-the-elastic-container-instance-terminal,
// send integrators to HttpUrl instead). The framing here is the one the
// emulator serves (internal/eci/emulator/README.md, "Exec websocket
// framing"), laid out as Kubernetes' channel.k8s.io protocol is: every
// binary message starts with one byte naming its stream.
const (
	execStreamStdin  = 0 // client → server; a message of the byte alone closes stdin
	execStreamStdout = 1 // server → client
	execStreamStderr = 2 // server → client
	execStreamStatus = 3 // server → client, JSON {"ExitCode":n}, the last message
	execStreamResize = 4 // client → server, JSON {"Width":w,"Height":h}
)

// execWriteTimeout bounds one message sent to the session, so a server that
// stops reading cannot block a writer for ever.
const execWriteTimeout = 10 * time.Second

// ExecSession is one command started by ExecContainerCommand, attached
// through its WebSocketUri. Stdin, CloseStdin and Resize may be called from
// other goroutines while Receive runs; Close may be called at any time.
type ExecSession struct {
	conn *websocket.Conn
	wmu  sync.Mutex // one writer at a time, as the websocket library requires
}

// DialExec attaches to the session behind uri, a WebSocketUri from
// ExecContainerCommand. The URI is one-shot and expires 30 s after the
// call, so dial at once. Errors never print the URI: its token is a
// credential for the session.
func DialExec(ctx context.Context, uri string) (*ExecSession, error) {
	d := websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: websocket.DefaultDialer.Proxy}
	conn, resp, err := d.DialContext(ctx, uri, nil)
	if err != nil {
		if resp != nil {
			// The server refused the upgrade; its answer says why (an
			// expired or already used session, for one).
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			return nil, fmt.Errorf("open the exec websocket: %s: %s", resp.Status, oneLine(string(body)))
		}
		return nil, fmt.Errorf("open the exec websocket: %w", err)
	}
	return &ExecSession{conn: conn}, nil
}

func (s *ExecSession) send(stream byte, payload []byte) error {
	msg := make([]byte, 0, 1+len(payload))
	msg = append(append(msg, stream), payload...)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(execWriteTimeout))
	return s.conn.WriteMessage(websocket.BinaryMessage, msg)
}

// Stdin sends p to the command's standard input. An empty p sends nothing:
// an empty stdin message would close the command's input.
func (s *ExecSession) Stdin(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	return s.send(execStreamStdin, p)
}

// CloseStdin ends the command's standard input (EOF), as a closed pipe
// would.
func (s *ExecSession) CloseStdin() error { return s.send(execStreamStdin, nil) }

// Resize tells the session the client's terminal size.
func (s *ExecSession) Resize(width, height uint16) error {
	b, err := json.Marshal(struct{ Width, Height uint16 }{width, height})
	if err != nil {
		return err
	}
	return s.send(execStreamResize, b)
}

// ErrExecNoStatus says an exec session ended before the server sent the
// command's exit status: the command may still be running in the
// container, and its exit code is unknown.
var ErrExecNoStatus = errors.New("the exec session ended without an exit status")

// Receive copies the command's stdout and stderr until the server reports
// its exit status, and returns the exit code. It returns ctx's error when
// ctx ends first (the session is then closed), and an error wrapping
// ErrExecNoStatus when the connection ends without a status.
func (s *ExecSession) Receive(ctx context.Context, stdout, stderr io.Writer) (int, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.Close() })
	defer stop()
	for {
		typ, msg, err := s.conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			return -1, fmt.Errorf("%w: %v", ErrExecNoStatus, err)
		}
		if typ == websocket.TextMessage {
			// Not part of the framing; shown rather than lost.
			if _, err := stdout.Write(msg); err != nil {
				return -1, fmt.Errorf("write the command's output: %w", err)
			}
			continue
		}
		if len(msg) == 0 {
			continue
		}
		var w io.Writer
		switch msg[0] {
		case execStreamStdout:
			w = stdout
		case execStreamStderr:
			w = stderr
		case execStreamStatus:
			var st struct{ ExitCode *int }
			if err := json.Unmarshal(msg[1:], &st); err != nil || st.ExitCode == nil {
				return -1, fmt.Errorf("%w: unreadable status %q", ErrExecNoStatus, strings.TrimSpace(string(msg[1:])))
			}
			return *st.ExitCode, nil
		default:
			continue // a stream this client does not know
		}
		if _, err := w.Write(msg[1:]); err != nil {
			return -1, fmt.Errorf("write the command's output: %w", err)
		}
	}
}

// Close ends the session; the server closes the command's stdin.
func (s *ExecSession) Close() error {
	// WriteControl may run beside a writer that holds wmu; the library
	// allows that, and waiting for wmu could take a whole write timeout.
	_ = s.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return s.conn.Close()
}
