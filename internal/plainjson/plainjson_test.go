package plainjson

import (
	"encoding/json"
	"testing"
)

func TestMarshalKeepsAmpersands(t *testing.T) {
	v := map[string]string{"url": "https://x.test/v.mp4?a=1&b=<2>"}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"url":"https://x.test/v.mp4?a=1&b=<2>"}`; string(got) != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
	std, _ := json.Marshal(v)
	if string(std) == string(got) {
		t.Fatalf("encoding/json wrote the same %s: the test no longer shows the difference", std)
	}
}

func TestMarshalError(t *testing.T) {
	if _, err := Marshal(func() {}); err == nil {
		t.Fatal("Marshal of a func succeeded")
	}
}
