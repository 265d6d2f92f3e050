package emulator

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Page tokens are opaque to clients: "<kind>:<seq>" base64-encoded, where
// seq is the sequence number of the last item returned. Listing resumes
// after it, so deletions between pages never skip or repeat items.

func encodeToken(kind string, seq int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(seq)))
}

func decodeToken(kind, tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	k, n, ok := strings.Cut(string(raw), ":")
	if !ok || k != kind {
		return 0, false
	}
	seq, err := strconv.Atoi(n)
	return seq, err == nil && seq >= 0
}

// readLimit reads Limit with a default and a maximum; above the maximum
// or below 1 is an InvalidParameter error.
func readLimit(c *call, def, maxN int) int {
	v := c.p.Get("Limit")
	n := int(c.rd.int(v, int64(def)))
	if v.HasValue() && v.String() != "" && (n < 1 || n > maxN) {
		c.rd.fail(errInvalid("Limit", "Valid values: 1 to %d.", maxN))
		return def
	}
	return n
}

// readIDs reads a JSON-array ID list parameter capped at maxIDsPerCall.
func readIDs(c *call, name string) []string {
	ids := c.rd.jsonStrings(c.p.Get(name))
	if len(ids) > maxIDsPerCall {
		c.rd.fail(errInvalid(name, "At most %d IDs can be specified.", maxIDsPerCall))
	}
	return ids
}

// pageOf cuts a list ordered by descending seq after the token.
func pageOf[T any](items []T, seqOf func(T) int, kind, token string, limit int) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		after, ok := decodeToken(kind, token)
		if !ok {
			return nil, "", errInvalid("NextToken", "The token is not valid.")
		}
		start = len(items)
		for i, it := range items {
			if seqOf(it) < after {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(items))
	page := items[start:end]
	next := ""
	if end < len(items) && len(page) > 0 {
		next = encodeToken(kind, seqOf(page[len(page)-1]))
	}
	return page, next, nil
}
