package main

import (
	cryptorand "crypto/rand"
	"go/parser"
	"go/token"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The stand-in's values must come from crypto/rand only. Two independent checks:
//  1. by source: randSource is crypto/rand.Reader and no file of the plugin imports another
//     random package (math/rand, math/rand/v2);
//  2. by behaviour: fed the same byte stream through randSource, every generator returns the
//     same value twice, so no other source of randomness (a seeded math/rand, time) takes part.
func TestRandomnessComesFromCryptoRand(t *testing.T) {
	if randSource != cryptorand.Reader {
		t.Fatalf("randSource is %T, want crypto/rand.Reader", randSource)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, "rand") && path != "crypto/rand" {
				t.Errorf("%s imports %s: the stand-in must draw only from crypto/rand", f, path)
			}
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("checked %d source files, want the plugin's main.go and generate.go", checked)
	}

	generate := func() string {
		defer func() { randSource = cryptorand.Reader }()
		randSource = mathrand.NewChaCha8([32]byte{7}) // a fixed, replayable byte stream
		pw, err := generatePassword(passwordParams{Length: 40, Upper: true, Lower: true, Numeric: true, Special: true, MinSpecial: 2})
		if err != nil {
			t.Fatal(err)
		}
		id, err := generateID(16, "x-")
		if err != nil {
			t.Fatal(err)
		}
		uuid, err := generateUUID()
		if err != nil {
			t.Fatal(err)
		}
		return pw + " " + id.Hex + " " + uuid
	}
	a, b := generate(), generate()
	if a != b {
		t.Fatalf("same randSource bytes, different values (another randomness source takes part):\n%s\n%s", a, b)
	}
	// ... and with crypto/rand back in place, values differ between calls.
	x, _ := generatePassword(allTrue(40))
	y, _ := generatePassword(allTrue(40))
	if x == y {
		t.Fatal("two passwords from crypto/rand are equal")
	}
}
