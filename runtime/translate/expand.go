package translate

import "strings"

// expand replaces $(NAME) references in s the way the kubelet does for env
// values, command and args:
//   - $(NAME) becomes the value of NAME when lookup knows it, and is left as
//     written otherwise;
//   - $$ is an escaped $, so $$(NAME) yields the literal $(NAME);
//   - a $ followed by anything else, or an unterminated $(, is kept.
//
// lookup returns the value and whether NAME is known.
func expand(s string, lookup func(name string) (string, bool)) string {
	if strings.IndexByte(s, '$') < 0 {
		return s // the common case: nothing to do, nothing to allocate
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(")
				b.WriteString(name)
				b.WriteByte(')')
			}
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}

// references returns the $(NAME) names s refers to (escapes excluded).
func references(s string) []string {
	var out []string
	expand(s, func(name string) (string, bool) {
		out = append(out, name)
		return "", false
	})
	return out
}
