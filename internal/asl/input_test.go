package asl

import (
	"encoding/json"
	"testing"
)

func TestCompactInput(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: "{}"},
		{in: " {\n \"a\": [1, 2] }\n", want: `{"a":[1,2]}`},
		{in: `"text"`, want: `"text"`},
		{in: `{"a":`, wantErr: true},
		{in: " ", wantErr: true},
	}
	for _, tt := range tests {
		got, err := CompactInput(json.RawMessage(tt.in))
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("CompactInput(%q) = %s, %v; want %s (error: %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
