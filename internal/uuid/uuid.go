// Package uuid makes random (version 4) UUIDs, the form AWS gives request
// ids and execution names.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
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
