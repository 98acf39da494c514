package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/structpb"
)

func count(s, chars string) int {
	n := 0
	for _, c := range s {
		if strings.ContainsRune(chars, c) {
			n++
		}
	}
	return n
}

func allTrue(length int) passwordParams {
	return passwordParams{Length: length, Upper: true, Lower: true, Numeric: true, Special: true}
}

func TestPasswordLengthAndClasses(t *testing.T) {
	all := upperChars + lowerChars + numericChars + defaultSpecialChars
	for _, n := range []int{1, 2, 16, 64, 200} {
		pw, err := generatePassword(allTrue(n))
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != n || count(pw, all) != n {
			t.Fatalf("length %d: got %q", n, pw)
		}
	}
	cases := []struct {
		p       passwordParams
		allowed string
	}{
		{passwordParams{Length: 300, Lower: true}, lowerChars},
		{passwordParams{Length: 300, Upper: true}, upperChars},
		{passwordParams{Length: 300, Numeric: true}, numericChars},
		{passwordParams{Length: 300, Special: true}, defaultSpecialChars},
		{passwordParams{Length: 300, Special: true, OverrideSpecial: "-_"}, "-_"},
		{passwordParams{Length: 300, Lower: true, Numeric: true}, lowerChars + numericChars},
	}
	for _, c := range cases {
		pw, err := generatePassword(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if count(pw, c.allowed) != len(pw) {
			t.Fatalf("%+v: %q has characters outside %q", c.p, pw, c.allowed)
		}
	}
	// With 300 characters over all classes every class shows up.
	pw, _ := generatePassword(allTrue(300))
	for _, set := range []string{upperChars, lowerChars, numericChars, defaultSpecialChars} {
		if count(pw, set) == 0 {
			t.Fatalf("no character of %q in %q", set, pw)
		}
	}
}

func TestPasswordMinimums(t *testing.T) {
	for range 50 {
		p := allTrue(12)
		p.MinUpper, p.MinLower, p.MinNumeric, p.MinSpecial = 3, 3, 3, 3
		pw, err := generatePassword(p)
		if err != nil {
			t.Fatal(err)
		}
		if count(pw, upperChars) != 3 || count(pw, lowerChars) != 3 || count(pw, numericChars) != 3 ||
			count(pw, defaultSpecialChars) != 3 {
			t.Fatalf("minimums not met exactly: %q", pw)
		}
	}
	// Like the real provider, a minimum draws from its class even when the class is off.
	p := passwordParams{Length: 10, Lower: true, MinUpper: 2, MinSpecial: 1, OverrideSpecial: "#"}
	for range 50 {
		pw, err := generatePassword(p)
		if err != nil {
			t.Fatal(err)
		}
		if count(pw, upperChars) != 2 || count(pw, "#") != 1 || count(pw, lowerChars) != 7 {
			t.Fatalf("%q", pw)
		}
	}
	// The guaranteed characters are shuffled, not always in front.
	front := 0
	for range 200 {
		q := passwordParams{Length: 8, Lower: true, MinNumeric: 1}
		pw, _ := generatePassword(q)
		if strings.ContainsRune(numericChars, rune(pw[0])) {
			front++
		}
	}
	if front > 100 {
		t.Fatalf("digit first in %d of 200 passwords: not shuffled", front)
	}
}

func TestPasswordValidation(t *testing.T) {
	bad := []passwordParams{
		{Length: 0, Lower: true},
		{Length: 3, Lower: true, MinUpper: 2, MinNumeric: 2},
		{Length: 5},
		{Length: 5, Lower: true, MinLower: -1},
		{Length: 2, MinNumeric: 2}, // upper, lower, numeric and special all false
	}
	for _, p := range bad {
		if _, err := generatePassword(p); err == nil {
			t.Fatalf("%+v: want an error", p)
		}
	}
}

func TestRandomID(t *testing.T) {
	for _, n := range []int{1, 4, 8, 16, 33} {
		v, err := generateID(n, "")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := hex.DecodeString(v.Hex)
		if err != nil || len(raw) != n || len(v.Hex) != 2*n {
			t.Fatalf("hex %q for %d bytes", v.Hex, n)
		}
		if std, _ := base64.StdEncoding.DecodeString(v.B64Std); string(std) != string(raw) {
			t.Fatalf("b64Std %q does not match hex %q", v.B64Std, v.Hex)
		}
		if u, _ := base64.RawURLEncoding.DecodeString(v.B64URL); string(u) != string(raw) || v.ID != v.B64URL {
			t.Fatalf("b64Url %q / id %q do not match hex %q", v.B64URL, v.ID, v.Hex)
		}
		if v.Dec != new(big.Int).SetBytes(raw).String() {
			t.Fatalf("dec %q does not match hex %q", v.Dec, v.Hex)
		}
	}
	v, _ := generateID(4, "obs-")
	for _, s := range []string{v.Hex, v.B64Std, v.B64URL, v.Dec} {
		if !strings.HasPrefix(s, "obs-") {
			t.Fatalf("%q lacks the prefix", s)
		}
	}
	if strings.HasPrefix(v.ID, "obs-") {
		t.Fatalf("id %q must not carry the prefix", v.ID)
	}
	if _, err := generateID(0, ""); err == nil {
		t.Fatal("byteLength 0 must fail")
	}
}

func TestUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u, err := generateUUID()
		if err != nil || !re.MatchString(u) || seen[u] {
			t.Fatalf("bad or repeated uuid %q (%v)", u, err)
		}
		seen[u] = true
	}
}

// The provider side: defaults, a created password, and a Diff that is empty for the same
// inputs and a replacement when an input or keeper changes.
func TestProviderCheckCreateDiff(t *testing.T) {
	ctx := context.Background()
	p := &prov{}
	marshal := func(m resource.PropertyMap) *structpb.Struct {
		s, err := plugin.MarshalProperties(m, keepOpts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	in := resource.PropertyMap{
		"length":  resource.NewProperty(20.0),
		"keepers": resource.NewProperty(resource.PropertyMap{"k": resource.NewProperty("a")}),
	}
	chk, err := p.Check(ctx, &pulumirpc.CheckRequest{Type: passwordType, News: marshal(in)})
	if err != nil || len(chk.GetFailures()) != 0 {
		t.Fatalf("check: %v %v", err, chk.GetFailures())
	}
	checked, _ := plugin.UnmarshalProperties(chk.GetInputs(), keepOpts)
	for _, k := range []resource.PropertyKey{"special", "upper", "lower", "numeric", "number"} {
		if !checked[k].IsBool() || !checked[k].BoolValue() {
			t.Fatalf("default %s: %v", k, checked[k])
		}
	}
	cr, err := p.Create(ctx, &pulumirpc.CreateRequest{Type: passwordType, Properties: chk.GetInputs()})
	if err != nil || cr.GetId() != "none" {
		t.Fatalf("create: %v %q", err, cr.GetId())
	}
	outs, _ := plugin.UnmarshalProperties(cr.GetProperties(), keepOpts)
	if !outs["result"].IsSecret() || !outs["bcryptHash"].IsSecret() {
		t.Fatal("result and bcryptHash must be secrets")
	}
	pw := outs["result"].SecretValue().Element.StringValue()
	hash := outs["bcryptHash"].SecretValue().Element.StringValue()
	if len(pw) != 20 || bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil {
		t.Fatalf("password %q / hash %q", pw, hash)
	}

	diff := func(news resource.PropertyMap) *pulumirpc.DiffResponse {
		c, err := p.Check(ctx, &pulumirpc.CheckRequest{Type: passwordType, News: marshal(news)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.Diff(ctx, &pulumirpc.DiffRequest{Type: passwordType, Olds: cr.GetProperties(),
			OldInputs: chk.GetInputs(), News: c.GetInputs()})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := diff(in.Copy()); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same inputs must not diff: %v", d)
	}
	same := in.Copy()
	same["special"] = resource.NewProperty(true) // explicit default: no change
	if d := diff(same); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("explicit default must not diff: %v", d)
	}
	changed := in.Copy()
	changed["keepers"] = resource.NewProperty(resource.PropertyMap{"k": resource.NewProperty("b")})
	if d := diff(changed); d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME ||
		strings.Join(d.GetReplaces(), ",") != "keepers" {
		t.Fatalf("keeper change must replace: %v", d)
	}
	longer := in.Copy()
	longer["length"] = resource.NewProperty(21.0)
	if d := diff(longer); strings.Join(d.GetReplaces(), ",") != "length" {
		t.Fatalf("length change must replace: %v", d)
	}

	// Read keeps the state as it is.
	rd, err := p.Read(ctx, &pulumirpc.ReadRequest{Type: passwordType, Id: "none", Properties: cr.GetProperties(),
		Inputs: chk.GetInputs()})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := plugin.UnmarshalProperties(rd.GetProperties(), keepOpts)
	if !back.DeepEquals(outs) {
		t.Fatal("read changed the state")
	}

	// Missing required inputs fail Check.
	for typ, m := range map[string]resource.PropertyMap{passwordType: {}, idType: {}} {
		c, err := p.Check(ctx, &pulumirpc.CheckRequest{Type: typ, News: marshal(m)})
		if err != nil || len(c.GetFailures()) == 0 {
			t.Fatalf("%s without required input: %v %v", typ, err, c.GetFailures())
		}
	}
}
