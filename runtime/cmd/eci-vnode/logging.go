package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the process logger at level, one of logLevels (checked
// with settings.logLevel before). Everything it writes stays on one line per
// record: slog's text handler prints error values with %+v, which for errors
// wrapped with github.com/pkg/errors (as virtual-kubelet's are) is the whole
// stack trace, and joined errors or SDK messages carry line breaks.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo // unreachable after settings.logLevel
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: singleLine}))
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
