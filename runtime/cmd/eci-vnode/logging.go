package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// newLogger returns the process logger at level, one of logLevels, in
// format, one of logFormats (both checked by settings before). Everything it
// writes stays on one line per record: slog's text handler prints error
// values with %+v, which for errors wrapped with github.com/pkg/errors (as
// virtual-kubelet's are) is the whole stack trace, and joined errors or SDK
// messages carry line breaks. In JSON an error would otherwise be written
// as its exported fields ({} for most), so it is its Error() text there too.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo // unreachable after settings.logLevel
	}
	opts := &slog.HandlerOptions{Level: l, ReplaceAttr: singleLine}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logFormats are the accepted --log-format values: text is slog's
// key=value lines, json one JSON object a line (time, level, msg and the
// record's attributes), for log pipelines that parse JSON.
var logFormats = install.LogFormats()

// logFormat records a problem unless format is one of logFormats.
func (s *settings) logFormat(name, format string) {
	for _, f := range logFormats {
		if strings.EqualFold(format, f) {
			return
		}
	}
	s.problem(name, "%q is not a log format; use %s", format, strings.Join(logFormats, " or "))
}

// singleLine writes an error as its Error() text and joins the lines of any
// text value, the record's message included.
func singleLine(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); strings.ContainsAny(s, "\r\n") {
			a.Value = slog.StringValue(oneLine(s))
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			a.Value = slog.StringValue(oneLine(v.Error()))
		default:
			if s := fmt.Sprintf("%+v", v); strings.ContainsAny(s, "\r\n") {
				a.Value = slog.StringValue(oneLine(s))
			}
		}
	}
	return a
}
