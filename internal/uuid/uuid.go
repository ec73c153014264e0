// Package uuid makes random (version 4) UUIDs, the form AWS gives request
// ids and execution names.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

// New returns a random version 4 UUID.
func New() string {
	var u [16]byte
	rand.Read(u[:]) // never fails: crypto/rand aborts the program instead
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var v4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// IsV4 reports whether s is a version 4 UUID in the form New makes.
func IsV4(s string) bool { return v4.MatchString(s) }
