package local

import (
	"net"
	"strings"
	"testing"
)

// A connection that has sent no request (a client's spare dial, a
// browser's preconnect) does not hold up Close: http.Server.Shutdown
// alone waited until it was 5 s old, the same 5 s Close gives it, and
// Close failed with a deadline exceeded (TestRecordsSurviveRestart did,
// now and then).
func TestCloseDropsConnectionsWithoutRequests(t *testing.T) {
	rt, err := Start(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(rt.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := rt.Close(); err != nil {
		t.Fatalf("Close with a connection that sent nothing: %v", err)
	}
}
