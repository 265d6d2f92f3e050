package emulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/gorilla/websocket"
)

// These tests wait on the wall clock: the timeouts are network deadlines,
// which the emulator's fake clock does not drive. The read timeout is
// short and the upper bounds are far from it.
const (
	testReadTimeout = 200 * time.Millisecond
	answerBound     = 5 * time.Second
)

func dialRaw(t *testing.T, e *Emulator) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(answerBound))
	return conn
}

func TestStalledBodyIsAnsweredAndClosed(t *testing.T) {
	e := StartForTest(t, Config{ReadTimeout: testReadTimeout})
	conn := dialRaw(t, e)
	start := time.Now()
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: eci\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: 100\r\n\r\nAction=DescribeRegions&")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body within %v: %v", answerBound, err)
	}
	var body errorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || body.Code != "RequestTimeout" || body.RequestId == "" {
		t.Fatalf("answer %d %+v", resp.StatusCode, body)
	}
	if waited := time.Since(start); waited < testReadTimeout {
		t.Fatalf("answered after %v, before the read timeout", waited)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection not closed after the answer: %v", err)
	}
}

func TestStalledHeadersAndIdleConnectionsAreClosed(t *testing.T) {
	e := StartForTest(t, Config{ReadTimeout: testReadTimeout, IdleTimeout: testReadTimeout})
	conn := dialRaw(t, e)
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: eci\r\n")
	// Closed either way: a FIN reads as EOF; a close racing the kernel's accept
	// queue can answer with a reset instead.
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("stalled headers: want the connection closed, got %v", err)
	}

	// A kept-alive connection that carries no further request is closed.
	conn = dialRaw(t, e)
	_, _ = io.WriteString(conn, "GET /_admin/clock HTTP/1.1\r\nHost: eci\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatalf("first answer already closes the connection")
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: want it closed, got %v", err)
	}
}

func TestHangingOutageOutlastsTheReadTimeout(t *testing.T) {
	e := StartForTest(t, Config{ReadTimeout: testReadTimeout})
	e.SetOutage(OutageHang)
	req := newRawRequest(t, e, rawCall{params: baseParams(e, "DescribeRegions"), inBody: true})
	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode}
		a.err = json.NewDecoder(resp.Body).Decode(&a.body)
		done <- a
	}()
	select {
	case a := <-done:
		t.Fatalf("a held request was answered during the outage: %+v", a)
	case <-time.After(4 * testReadTimeout):
	}
	e.SetOutage(OutageNone)
	select {
	case a := <-done:
		if a.err != nil || a.status != http.StatusOK || a.body["Regions"] == nil {
			t.Fatalf("held request after the outage: %+v", a)
		}
	case <-time.After(answerBound):
		t.Fatalf("held request not answered after the outage ended")
	}
}

func TestExecSessionOutlastsTheReadTimeout(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.ReadTimeout = testReadTimeout
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1}
	})
	id := createGroup(t, c, e, "shell", nil)
	clk.Advance(time.Second)
	req := eci.CreateExecContainerCommandRequest()
	req.ContainerGroupId, req.ContainerName, req.Command = id, "app", `["sh"]`
	resp, err := c.ExecContainerCommand(req)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(resp.WebSocketUri, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(4 * testReadTimeout) // an idle interactive session, longer than the read timeout
	for _, msg := range [][]byte{append([]byte{streamStdin}, "echo still here\n"...), {streamStdin}} {
		if err := conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatalf("write after idling: %v", err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(answerBound))
	var out strings.Builder
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("session ended before its status (output %q): %v", out.String(), err)
		}
		if msg[0] == streamStdout {
			out.Write(msg[1:])
		}
		if msg[0] == streamStatus {
			break
		}
	}
	if out.String() != "still here\n" {
		t.Fatalf("output %q", out.String())
	}
}

// A request body that arrives slowly but within the timeout is served.
func TestSlowBodyWithinTheReadTimeoutIsServed(t *testing.T) {
	e := StartForTest(t, Config{ReadTimeout: 2 * time.Second})
	req := newRawRequest(t, e, rawCall{params: baseParams(e, "DescribeRegions"), inBody: true})
	form, _ := io.ReadAll(req.Body)
	pr, pw := io.Pipe()
	req.Body, req.ContentLength = pr, int64(len(form))
	go func() {
		half := len(form) / 2
		_, _ = pw.Write(form[:half])
		time.Sleep(testReadTimeout)
		_, _ = pw.Write(form[half:])
		pw.Close()
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// A connection a client dialed and never used (a transport leaves one
// behind when a request takes a freed connection first) is not a request
// in flight: Close shuts down without an error.
func TestCloseIgnoresAConnectionThatNeverSentARequest(t *testing.T) {
	e, err := New(Config{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := e.Close(); err != nil {
		t.Fatalf("close with an unused connection open: %v", err)
	}
	// Closed either way: a FIN reads as EOF; a close racing the kernel's accept
	// queue can answer with a reset instead.
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the unused connection is still open after Close: %v", err)
	}
}
