package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// apiVersion is the only API version served.
const apiVersion = "2018-08-08"

// maxBodyBytes bounds a form body; ConfigFileVolume content is at most
// 32 KB per file and 20 volumes, so real requests stay far below.
const maxBodyBytes = 8 << 20

// newRequestID returns an upper-case UUID (version 4), the shape of the
// RequestId Alibaba Cloud returns.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// ServeHTTP routes admin, exec websocket and API requests.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, adminPrefix):
		e.serveAdmin(w, r)
		return
	case strings.HasPrefix(r.URL.Path, execPath):
		if e.holdForOutage(w, r) {
			return
		}
		e.serveExecWebsocket(w, r)
		return
	}
	// A refusing outage drops the connection before anything is read; a
	// hanging one holds the request once its body has been read, so a
	// stalled body cannot hide behind the outage.
	if mode, _ := e.faults.outageState(); mode == OutageRefuse {
		dropConnection(w)
		return
	}
	body, bodyErr := e.readBodyBounded(w, r)
	if e.holdForOutage(w, r) {
		return
	}
	e.serveAPI(w, r, body, bodyErr)
}

// errBodyTimeout marks a request body that did not arrive in time.
var errBodyTimeout = errors.New("request body not received in time")

// readBodyBounded reads the request body (readBody) under a read deadline
// of Config.ReadTimeout. On success the deadline is lifted again, so
// nothing that follows on the connection (a request held by OutageHang,
// the wait for the next request) runs under it. On a timeout the deadline
// stays, the answer says "Connection: close", and the server drops the
// connection instead of waiting for the rest of the body.
func (e *Emulator) readBodyBounded(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	d := e.cfg.ReadTimeout
	if d <= 0 || r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet {
		return readBody(r)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(d))
	body, err := readBody(r)
	var ne net.Error
	if err != nil && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)) {
		w.Header().Set("Connection", "close")
		return nil, fmt.Errorf("%w within %s", errBodyTimeout, d)
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, err
}

// holdForOutage applies the current outage; true means the request was
// consumed (dropped, or released only because the client went away).
func (e *Emulator) holdForOutage(w http.ResponseWriter, r *http.Request) bool {
	for {
		mode, cleared := e.faults.outageState()
		switch mode {
		case OutageNone:
			return false
		case OutageRefuse:
			dropConnection(w)
			return true
		case OutageHang:
			select {
			case <-cleared:
				continue // re-check: a new outage may have started
			case <-r.Context().Done():
				return true
			case <-e.closed:
				dropConnection(w)
				return true
			}
		}
	}
}

// dropConnection closes the client's connection without an HTTP answer,
// resetting it (SO_LINGER 0) so the client fails fast as on a refused
// connection.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// apiRequest is an API request as read off the wire: its query, its raw
// body (hashed by the V3 signature) and the parameters of both merged.
type apiRequest struct {
	query url.Values
	body  []byte
	flat  map[string]string
}

// readBody reads the whole request body (empty for GET), at most
// maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Method == http.MethodGet {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes", maxBodyBytes)
	}
	return body, nil
}

// parseRequest merges query string and form body into one flat map; a key
// in the body overrides the same key in the query, as the SDK's signer
// merges them.
func parseRequest(r *http.Request, body []byte) (*apiRequest, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("parse query string: %w", err)
	}
	req := &apiRequest{query: q, body: body, flat: map[string]string{}}
	for k, v := range q {
		req.flat[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" || len(body) == 0 {
		return req, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("parse form body: %w", err)
	}
	for k, v := range form {
		req.flat[k] = v[0]
	}
	return req, nil
}

// call is one API invocation as seen by an action handler.
type call struct {
	e         *Emulator
	action    string
	params    *Params
	p         Value // root of the parameter tree
	rd        reader
	now       time.Time
	requestID string
	accessKey string
	// after runs once the emulator's mutex is released, before the answer is
	// written: work that waits for something that itself calls the API.
	after []func()
}

// afterUnlock runs f after the handler, outside the emulator's mutex.
func (c *call) afterUnlock(f func()) { c.after = append(c.after, f) }

type actionFunc func(c *call) (any, *apiError)

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request, body []byte, bodyErr error) {
	start := time.Now()
	reqID := newRequestID()
	action := "<none>"
	code := "Success"
	defer func() { e.stats.record(action, code, time.Since(start)) }()

	fail := func(ae *apiError) {
		code = ae.Code
		e.writeError(w, reqID, ae)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		fail(newErr(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod", "This http method is not supported."))
		return
	}
	if errors.Is(bodyErr, errBodyTimeout) {
		fail(newErr(http.StatusRequestTimeout, "RequestTimeout", "The request body was not received in time: %v.", bodyErr))
		return
	}
	err := bodyErr
	var req *apiRequest
	if err == nil {
		req, err = parseRequest(r, body)
	}
	if err != nil {
		fail(errInvalidCode("InvalidParameter", "The request could not be parsed: %v.", err))
		return
	}
	flat := req.flat
	// An RPC (V2) request names its action and version in parameters; a
	// V3 request in the x-acs-action and x-acs-version headers.
	v3 := isV3Request(r)
	actionName, versionName := "Action", "Version"
	act, ver := flat["Action"], flat["Version"]
	if v3 {
		actionName, versionName = "x-acs-action", "x-acs-version"
		act, ver = r.Header.Get("x-acs-action"), r.Header.Get("x-acs-version")
	}
	if act == "" {
		fail(errMissing(actionName))
		return
	}
	handler, known := e.actions[act]
	if known {
		action = act
	} else {
		action = "<unknown>"
	}
	switch {
	case ver == "":
		fail(errMissing(versionName))
		return
	case ver != apiVersion:
		fail(errInvalidVersion())
		return
	}
	if !known {
		fail(newErr(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."))
		return
	}
	if f := flat["Format"]; f != "" && !strings.EqualFold(f, "JSON") {
		// Only JSON is produced; XML clients are told so instead of being
		// sent a body they cannot parse.
		fail(errInvalid("Format", "The emulator only serves JSON."))
		return
	}

	latency, injected := e.faults.pick(action)
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			code = "ClientClosed"
			return
		case <-e.closed:
		}
	}
	if injected != nil {
		fail(injected)
		return
	}

	accessKey := flat["AccessKeyId"]
	var ae *apiError
	if v3 {
		accessKey, ae = e.verifyV3(r, req.query, req.body, e.cfg.SignatureClock.Now())
	} else {
		ae = e.verifySignature(r.Method, flat, e.cfg.SignatureClock.Now())
	}
	if ae != nil {
		fail(ae)
		return
	}
	params, err := ParseParams(flat)
	if err != nil {
		fail(errInvalidCode("InvalidParameter", "Malformed parameter: %v.", err))
		return
	}
	if reg := flat["RegionId"]; reg == "" {
		fail(errMissing("RegionId"))
		return
	} else if reg != e.cfg.Region {
		fail(newErr(http.StatusBadRequest, "InvalidRegionId.NotFound", "The specified region %q does not exist or is not served here (serving %s).", reg, e.cfg.Region))
		return
	}

	e.mu.Lock()
	now := e.clock.Now()
	if !e.limit.allow(action, now) {
		e.mu.Unlock()
		fail(errThrottled())
		return
	}
	c := &call{e: e, action: action, params: params, p: params.Root(), now: now, requestID: reqID, accessKey: accessKey}
	e.st.advance(now)
	resp, ae := handler(c)
	if ae == nil && c.rd.err != nil {
		ae = c.rd.err
	}
	e.mu.Unlock()
	for _, f := range c.after {
		f()
	}
	if ae != nil {
		fail(ae)
		return
	}
	e.writeJSON(w, reqID, resp)
}

// writeJSON renders a success body with RequestId as its first key.
func (e *Emulator) writeJSON(w http.ResponseWriter, reqID string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		e.writeError(w, reqID, errInternal("encode response: %v", err))
		return
	}
	var buf bytes.Buffer
	buf.WriteString(`{"RequestId":`)
	id, _ := json.Marshal(reqID)
	buf.Write(id)
	if len(body) > 2 && body[0] == '{' {
		buf.WriteByte(',')
		buf.Write(body[1:])
	} else {
		buf.WriteByte('}')
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (e *Emulator) writeError(w http.ResponseWriter, reqID string, ae *apiError) {
	body, _ := json.Marshal(errorBody{
		RequestId: reqID, HostId: e.cfg.HostID, Code: ae.Code, Message: ae.Message,
		Recommend: recommendURL(ae.Code, reqID),
	})
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(body)
}
