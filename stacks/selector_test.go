package stacks_test

// These tests pin ParseStreamSelector to the LogQL stream selectors Loki 3 accepts
// for retention_stream[].selector. They fail if the parser stops unquoting values
// (escapes, raw strings), reorders or drops matchers, rejects duplicate names,
// accepts a pipeline after "}", a trailing comma, "{}", an unknown operator or a
// bad label name, stops anchoring/compiling regex values as RE2, or stops refusing
// selectors whose every matcher matches the empty string.

import (
	"reflect"
	"strings"
	"testing"

	"obs-stack/stacks"
)

func TestParseStreamSelectorValid(t *testing.T) {
	type m = stacks.Matcher
	for _, tc := range []struct {
		class string
		in    string
		want  []stacks.Matcher
	}{
		// spacing
		{"minimal", `{a="b"}`, []m{{"a", "=", "b"}}},
		{"surrounding space", " \t\n{a=\"b\"}\r\n ", []m{{"a", "=", "b"}}},
		{"space between every token", "{ a = \"b\" , c != \"d\" }", []m{{"a", "=", "b"}, {"c", "!=", "d"}}},
		{"newlines between matchers", "{\n  a=\"b\",\n  c=~\"d\"\n}", []m{{"a", "=", "b"}, {"c", "=~", "d"}}},
		{"no space after comma", `{a="b",c="d"}`, []m{{"a", "=", "b"}, {"c", "=", "d"}}},
		// label names
		{"underscore and digits in name", `{_a_1="x"}`, []m{{"_a_1", "=", "x"}}},
		{"upper case name", `{App="x"}`, []m{{"App", "=", "x"}}},
		{"single underscore name", `{_="x"}`, []m{{"_", "=", "x"}}},
		// operators
		{"all four operators", `{a="1", b!="2", c=~"3.*", d!~"4"}`, []m{{"a", "=", "1"}, {"b", "!=", "2"}, {"c", "=~", "3.*"}, {"d", "!~", "4"}}},
		// values
		{"escaped quote", `{a="say \"hi\""}`, []m{{"a", "=", `say "hi"`}}},
		{"escaped backslash and tab", `{a="x\\y\tz"}`, []m{{"a", "=", "x\\y\tz"}}},
		{"hex and unicode escapes", `{a="\x41\u00e9"}`, []m{{"a", "=", "Aé"}}},
		{"backtick raw string keeps backslashes", "{a=~`\\d+\\.log`}", []m{{"a", "=~", `\d+\.log`}}},
		{"raw string with double quote", "{a=`say \"hi\"`}", []m{{"a", "=", `say "hi"`}}},
		{"unicode value", `{team="équipe"}`, []m{{"team", "=", "équipe"}}},
		{"value with braces and commas", `{a="}{,="}`, []m{{"a", "=", "}{,="}}},
		{"empty != value next to a real one", `{a="b", c!=""}`, []m{{"a", "=", "b"}, {"c", "!=", ""}}},
		// regex
		{"regex alternation", `{namespace="team-a", app=~"api|web"}`, []m{{"namespace", "=", "team-a"}, {"app", "=~", "api|web"}}},
		{"non-empty regex alone", `{app=~".+"}`, []m{{"app", "=~", ".+"}}},
		{"regex with escapes and classes", `{file=~"/var/log/.+\\.log"}`, []m{{"file", "=~", `/var/log/.+\.log`}}},
		// several / duplicates
		{"duplicate names kept in order", `{a="1", a!="2", a=~"1|3"}`, []m{{"a", "=", "1"}, {"a", "!=", "2"}, {"a", "=~", "1|3"}}},
		{"empty-compatible matchers allowed beside a real one", `{a=~".*", b!~"x", c="y"}`, []m{{"a", "=~", ".*"}, {"b", "!~", "x"}, {"c", "=", "y"}}},
	} {
		t.Run(tc.class, func(t *testing.T) {
			got, err := stacks.ParseStreamSelector(tc.in)
			if err != nil {
				t.Fatalf("ParseStreamSelector(%q): unexpected error: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseStreamSelector(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseStreamSelectorInvalid(t *testing.T) {
	for _, tc := range []struct {
		class string
		in    string
		want  []string // substrings the error must contain
	}{
		// structure
		{"empty string", ``, []string{"empty"}},
		{"only whitespace", " \t\n", []string{"empty"}},
		{"no matcher", `{}`, []string{"at least one"}},
		{"no matcher with space", `{  }`, []string{"at least one"}},
		{"missing both braces", `a="b"`, []string{`must start with "{"`, `"a"`}},
		{"missing closing brace", `{a="b"`, []string{`missing closing "}"`}},
		{"missing closing brace after comma", `{a="b",`, []string{"end of the selector"}},
		{"missing opening brace", `a="b"}`, []string{`must start with "{"`}},
		{"trailing comma", `{a="b",}`, []string{"trailing comma", "byte 6"}},
		{"trailing comma with space", `{a="b" , }`, []string{"trailing comma", "byte 7"}},
		{"leading comma", `{,a="b"}`, []string{"label name", `","`}},
		{"double comma", `{a="b",,c="d"}`, []string{"label name", "byte 7"}},
		{"missing comma", `{a="b" c="d"}`, []string{`expected "," or "}"`, `"c"`}},
		{"line filter after }", `{a="b"} |= "x"`, []string{`after the closing "}"`, "byte 8", "pipeline"}},
		{"parser stage after }", `{a="b"}|json`, []string{`after the closing "}"`, `"|"`}},
		{"second selector after }", `{a="b"}{c="d"}`, []string{`after the closing "}"`}},
		// label names
		{"name starts with digit", `{1a="b"}`, []string{"label name", `"1a"`, "byte 1"}},
		{"name with dash", `{a-b="c"}`, []string{"operator", `"-"`}},
		{"name with dot", `{a.b="c"}`, []string{"operator", `"."`}},
		{"quoted name", `{"a"="b"}`, []string{"label name"}},
		// operators
		{"double equals", `{a=="b"}`, []string{"unknown operator", `"=="`, "byte 2"}},
		{"bang alone", `{a!"b"}`, []string{"unknown operator", `"!"`}},
		{"tilde alone", `{a~"b"}`, []string{"unknown operator", `"~"`}},
		{"less than", `{a<"b"}`, []string{"unknown operator", `"<"`}},
		{"triple", `{a=~~"b"}`, []string{"unknown operator", `"=~~"`}},
		{"missing operator", `{a "b"}`, []string{"expected an operator", `"\""`}},
		// values
		{"unquoted value", `{a=b}`, []string{"quoted value", `"b"`, "byte 3"}},
		{"unquoted number", `{a=1}`, []string{"quoted value", `"1"`}},
		{"single quotes", `{a='b'}`, []string{"single quotes"}},
		{"missing value", `{a=}`, []string{"quoted value", `"}"`}},
		{"value at end of input", `{a=`, []string{"quoted value", "end of the selector"}},
		{"unterminated string", `{a="b}`, []string{"unterminated string", "byte 3"}},
		{"unterminated by escaped quote", `{a="b\"}`, []string{"unterminated string"}},
		{"newline inside string", "{a=\"b\nc\"}", []string{"unterminated string"}},
		{"unterminated raw string", "{a=`b}", []string{"unterminated raw string"}},
		{"bad escape", `{a="\q"}`, []string{"invalid escape sequence", `\q`, "byte 4"}},
		{"bad escape after text", `{a="ab\d"}`, []string{"invalid escape sequence", `\d`, "byte 6"}},
		{"short hex escape", `{a="\x4"}`, []string{"invalid escape sequence", `\x4`}},
		{"invalid UTF-8", "{a=\"\xff\"}", []string{"UTF-8", "byte 4"}},
		// regex
		{"bad regex", `{a=~"("}`, []string{"invalid regular expression", `"("`, "missing closing )"}},
		{"bad regex in negative matcher", `{a="b", c!~"[z-a]"}`, []string{"invalid regular expression", `"c"`}},
		{"regex that only compiles once wrapped", `{a=~"x)|(y"}`, []string{"invalid regular expression", "unexpected )"}},
		{"perl lookahead is not RE2", `{a=~"(?=x)"}`, []string{"invalid regular expression"}},
		// empty-compatible only
		{"match-all regex", `{app=~".*"}`, []string{"empty-compatible"}},
		{"empty equality", `{app=""}`, []string{"empty-compatible"}},
		{"negative equality only", `{app!="x"}`, []string{"empty-compatible"}},
		{"negative regex only", `{app!~".+"}`, []string{"empty-compatible"}},
		{"optional regex", `{app=~"(api)?"}`, []string{"empty-compatible"}},
		{"alternation with empty branch", `{app=~"api|"}`, []string{"empty-compatible"}},
		{"several empty-compatible", `{a="", b=~"x*", c!="d", d!~"e"}`, []string{"empty-compatible"}},
	} {
		t.Run(tc.class, func(t *testing.T) {
			got, err := stacks.ParseStreamSelector(tc.in)
			if err == nil {
				t.Fatalf("ParseStreamSelector(%q) = %#v, want an error mentioning %q", tc.in, got, tc.want)
			}
			if got != nil {
				t.Errorf("ParseStreamSelector(%q) returned matchers %#v along with the error", tc.in, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseStreamSelector(%q) error %q does not mention %q", tc.in, err, w)
				}
			}
		})
	}
}
