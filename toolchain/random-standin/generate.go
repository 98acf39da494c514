// OFFLINE STAND-IN for the official pulumi-random plugin (see main.go): value generation.
//
// Semantics follow pulumi-random (a bridged terraform-provider-random):
//   - RandomPassword: `minUpper`/`minLower`/`minNumeric`/`minSpecial` characters are drawn
//     from their own class (even when that class is switched off), the rest of `length` from
//     the union of the enabled classes, then the whole string is shuffled. `overrideSpecial`
//     replaces the default special set !@#$%&*()-_=+[]{}<>:? when non-empty.
//   - RandomId: `byteLength` random bytes shown as hex (zero padded), standard base64 (padded),
//     URL base64 (unpadded) and unsigned decimal, each with `prefix` in front.
//   - RandomUuid: a random (version 4) UUID in lower-case canonical form.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
)

const (
	upperChars          = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerChars          = "abcdefghijklmnopqrstuvwxyz"
	numericChars        = "0123456789"
	defaultSpecialChars = "!@#$%&*()-_=+[]{}<>:?"
)

// randSource is where all randomness comes from; tests may swap it.
var randSource io.Reader = rand.Reader

type passwordParams struct {
	Length                                     int
	Upper, Lower, Numeric, Special             bool
	MinUpper, MinLower, MinNumeric, MinSpecial int
	OverrideSpecial                            string
}

func (p passwordParams) specialChars() string {
	if p.OverrideSpecial != "" {
		return p.OverrideSpecial
	}
	return defaultSpecialChars
}

// validate reports the same input errors the real provider rejects.
func (p passwordParams) validate() error {
	if p.Length < 1 {
		return fmt.Errorf("length must be at least 1, got %d", p.Length)
	}
	for name, v := range map[string]int{"minUpper": p.MinUpper, "minLower": p.MinLower,
		"minNumeric": p.MinNumeric, "minSpecial": p.MinSpecial} {
		if v < 0 {
			return fmt.Errorf("%s must not be negative, got %d", name, v)
		}
	}
	if sum := p.MinUpper + p.MinLower + p.MinNumeric + p.MinSpecial; p.Length < sum {
		return fmt.Errorf("length (%d) must be >= minUpper + minLower + minNumeric + minSpecial (%d)", p.Length, sum)
	}
	if !p.Upper && !p.Lower && !p.Numeric && !p.Special {
		return errors.New("at least one of upper, lower, numeric and special must be true")
	}
	return nil
}

func generatePassword(p passwordParams) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	pool := ""
	for _, c := range []struct {
		on    bool
		chars string
	}{{p.Upper, upperChars}, {p.Lower, lowerChars}, {p.Numeric, numericChars}, {p.Special, p.specialChars()}} {
		if c.on {
			pool += c.chars
		}
	}
	out := make([]byte, 0, p.Length)
	for _, m := range []struct {
		n     int
		chars string
	}{{p.MinUpper, upperChars}, {p.MinLower, lowerChars}, {p.MinNumeric, numericChars}, {p.MinSpecial, p.specialChars()}} {
		for range m.n {
			c, err := pick(m.chars)
			if err != nil {
				return "", err
			}
			out = append(out, c)
		}
	}
	for len(out) < p.Length {
		c, err := pick(pool)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	// Fisher-Yates shuffle so the guaranteed characters are not at the front.
	for i := len(out) - 1; i > 0; i-- {
		j, err := randInt(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

type idOutputs struct {
	ID, Hex, B64Std, B64URL, Dec string
}

// generateID returns RandomId's outputs; ID (the resource id) is the URL base64 without prefix.
func generateID(byteLength int, prefix string) (idOutputs, error) {
	if byteLength < 1 {
		return idOutputs{}, fmt.Errorf("byteLength must be at least 1, got %d", byteLength)
	}
	b := make([]byte, byteLength)
	if _, err := io.ReadFull(randSource, b); err != nil {
		return idOutputs{}, err
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	return idOutputs{
		ID:     id,
		Hex:    prefix + hex.EncodeToString(b),
		B64Std: prefix + base64.StdEncoding.EncodeToString(b),
		B64URL: prefix + id,
		Dec:    prefix + new(big.Int).SetBytes(b).String(),
	}, nil
}

func generateUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(randSource, b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

func pick(chars string) (byte, error) {
	if chars == "" {
		return 0, errors.New("empty character set")
	}
	i, err := randInt(len(chars))
	if err != nil {
		return 0, err
	}
	return chars[i], nil
}

func randInt(n int) (int, error) {
	v, err := rand.Int(randSource, big.NewInt(int64(n)))
	if err != nil {
		return 0, err
	}
	return int(v.Int64()), nil
}
