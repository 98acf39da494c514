package stacks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Matcher is one label matcher of a stream selector.
type Matcher struct {
	Name  string // label name
	Op    string // one of "=", "!=", "=~", "!~"
	Value string // the value, unquoted
}

// ParseStreamSelector parses a LogQL stream selector such as {namespace="team-a", app=~"api|web"}.
// It returns every matcher in order, or an error that says what is wrong and where (byte offset or the offending token), in words a user understands.
//
// It accepts what Loki 3 accepts as a bare stream selector (no pipeline after it):
// label names are [a-zA-Z_][a-zA-Z0-9_]*, operators are =, !=, =~ and !~, values
// are double-quoted strings with Go escapes or backtick raw strings, regex values
// must compile as RE2 once anchored (^(?:value)$), and at least one = or =~ matcher
// must not match the empty string. Duplicate label names are allowed, as in Loki.
func ParseStreamSelector(s string) ([]Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf(`the selector is empty; write it like {app="api"}`)
	}
	if !utf8.ValidString(s) {
		for i, r := range s {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
					return nil, fmt.Errorf("invalid UTF-8 byte at byte %d", i)
				}
			}
		}
	}
	p := &selParser{s: s}
	ms, err := p.parse()
	if err != nil {
		return nil, err
	}
	return ms, nil
}

type selParser struct {
	s   string
	pos int
}

func (p *selParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *selParser) eof() bool { return p.pos >= len(p.s) }

// found describes the token at p.pos for an error message: a run of
// label-name characters, a single other character, or the end of the input.
func (p *selParser) found() string {
	if p.eof() {
		return "the end of the selector"
	}
	end := p.pos
	for end < len(p.s) && isLabelChar(p.s[end]) {
		end++
	}
	if end == p.pos {
		_, size := utf8.DecodeRuneInString(p.s[p.pos:])
		end = p.pos + size
	}
	return strconv.Quote(p.s[p.pos:end])
}

func (p *selParser) errf(at int, format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", at, fmt.Sprintf(format, args...))
}

func (p *selParser) parse() ([]Matcher, error) {
	p.skipSpace()
	if p.s[p.pos] != '{' {
		return nil, p.errf(p.pos, `a stream selector must start with "{", found %s; write it like {app="api"}`, p.found())
	}
	open := p.pos
	p.pos++
	p.skipSpace()
	if !p.eof() && p.s[p.pos] == '}' {
		return nil, p.errf(p.pos, `the selector {} has no label matcher; it needs at least one, like {app="api"}`)
	}
	var ms []Matcher
	for {
		m, err := p.matcher()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
		p.skipSpace()
		if p.eof() {
			return nil, p.errf(p.pos, `missing closing "}" for the "{" at byte %d`, open)
		}
		c := p.s[p.pos]
		if c == '}' {
			p.pos++
			break
		}
		if c != ',' {
			return nil, p.errf(p.pos, `expected "," or "}" after the matcher for label %q, found %s`, m.Name, p.found())
		}
		comma := p.pos
		p.pos++
		p.skipSpace()
		if !p.eof() && p.s[p.pos] == '}' {
			return nil, p.errf(comma, `trailing comma before "}"; remove it`)
		}
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errf(p.pos, `unexpected %s after the closing "}": only a stream selector is allowed here, no line filters (|=, |~, ...) or other pipeline stages`, p.found())
	}
	if !anyNonEmptyMatcher(ms) {
		return nil, fmt.Errorf(`queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`)
	}
	return ms, nil
}

func isLabelStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isLabelChar(c byte) bool { return isLabelStart(c) || ('0' <= c && c <= '9') }

func isOpChar(c byte) bool {
	switch c {
	case '=', '!', '~', '<', '>':
		return true
	}
	return false
}

// matcher parses name op value starting at p.pos (leading space allowed).
func (p *selParser) matcher() (Matcher, error) {
	var m Matcher
	p.skipSpace()
	if p.eof() {
		return m, p.errf(p.pos, `expected a label name, found the end of the selector (missing "}")`)
	}
	if !isLabelStart(p.s[p.pos]) {
		return m, p.errf(p.pos, "expected a label name, found %s; label names start with a letter or _ and contain only letters, digits and _", p.found())
	}
	start := p.pos
	for p.pos < len(p.s) && isLabelChar(p.s[p.pos]) {
		p.pos++
	}
	m.Name = p.s[start:p.pos]

	p.skipSpace()
	opAt := p.pos
	for p.pos < len(p.s) && isOpChar(p.s[p.pos]) {
		p.pos++
	}
	m.Op = p.s[opAt:p.pos]
	switch m.Op {
	case "=", "!=", "=~", "!~":
	case "":
		p.pos = opAt
		return m, p.errf(opAt, "expected an operator (=, !=, =~ or !~) after label %q, found %s; label names contain only letters, digits and _", m.Name, p.found())
	default:
		return m, p.errf(opAt, "unknown operator %q after label %q; use =, !=, =~ or !~", m.Op, m.Name)
	}

	p.skipSpace()
	valAt := p.pos
	v, err := p.value(m.Name)
	if err != nil {
		return m, err
	}
	m.Value = v
	if m.Op == "=~" || m.Op == "!~" {
		// The value must be a regex on its own (so "a)|(b" is refused, as Loki 3
		// does) and once anchored the way Loki anchors it.
		if _, err := regexp.Compile(v); err != nil {
			return m, p.errf(valAt, "invalid regular expression %q for label %q: %v", v, m.Name, err)
		}
		if _, err := regexp.Compile("^(?:" + v + ")$"); err != nil {
			return m, p.errf(valAt, "invalid regular expression %q for label %q: %v", v, m.Name, err)
		}
	}
	return m, nil
}

// value scans a double-quoted or backtick-quoted string at p.pos and unquotes it.
func (p *selParser) value(label string) (string, error) {
	at := p.pos
	if p.eof() {
		return "", p.errf(at, `expected a quoted value for label %q, found the end of the selector`, label)
	}
	switch q := p.s[at]; q {
	case '"':
		i := at + 1
		for ; i < len(p.s); i++ {
			if p.s[i] == '\\' {
				i++ // skip the escaped byte (the escape itself is checked by strconv.Unquote)
				continue
			}
			if p.s[i] == '"' || p.s[i] == '\n' {
				break
			}
		}
		if i >= len(p.s) || p.s[i] != '"' {
			return "", p.errf(at, `unterminated string for label %q: no closing " on the same line`, label)
		}
		lit := p.s[at : i+1]
		v, err := strconv.Unquote(lit)
		if err != nil {
			return "", p.badEscape(at, lit, label)
		}
		p.pos = i + 1
		return v, nil
	case '`':
		end := strings.IndexByte(p.s[at+1:], '`')
		if end < 0 {
			return "", p.errf(at, "unterminated raw string for label %q: no closing `", label)
		}
		lit := p.s[at : at+1+end+1]
		v, err := strconv.Unquote(lit)
		if err != nil { // not expected: a backtick literal without inner backticks always unquotes
			return "", p.errf(at, "invalid raw string %s for label %q", lit, label)
		}
		p.pos = at + len(lit)
		return v, nil
	case '\'':
		return "", p.errf(at, `single quotes are not allowed for the value of label %q; use "..." or `+"`...`", label)
	default:
		return "", p.errf(at, `expected a quoted value ("..." or `+"`...`"+`) for label %q, found %s`, label, p.found())
	}
}

// badEscape finds the escape sequence strconv.Unquote rejected in the
// double-quoted literal lit (which starts at byte at) and reports it.
func (p *selParser) badEscape(at int, lit, label string) error {
	body := lit[1 : len(lit)-1]
	off := 0
	for len(body) > 0 {
		_, _, tail, err := strconv.UnquoteChar(body, '"')
		if err != nil {
			seq := firstRunes(body, 4)
			if !strings.HasPrefix(seq, `\`) {
				return p.errf(at+1+off, "invalid character %q in the string for label %q", firstRunes(seq, 1), label)
			}
			return p.errf(at+1+off, `invalid escape sequence %s in the string for label %q; valid escapes include \" \\ \n \t \xFF \u00e9 (use a raw `+"`...`"+` string to avoid escaping)`, seq, label)
		}
		off += len(body) - len(tail)
		body = tail
	}
	return p.errf(at, "invalid string %s for label %q", lit, label)
}

// anyNonEmptyMatcher reports whether some matcher selects only streams that
// have the label: an = with a non-empty value, or an =~ whose anchored regex
// does not match "". != and !~ never count.
func anyNonEmptyMatcher(ms []Matcher) bool {
	for _, m := range ms {
		switch m.Op {
		case "=":
			if m.Value != "" {
				return true
			}
		case "=~":
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			if err == nil && !re.MatchString("") {
				return true
			}
		}
	}
	return false
}

// firstRunes returns at most the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
