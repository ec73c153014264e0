package upstream

import (
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// TestParseGeneration covers the shapes the simulator does not send.
func TestParseGeneration(t *testing.T) {
	const url = "https://cdn.example.com/v.mp4"
	tests := []struct {
		name     string
		body     string
		wantErr  bool
		status   job.Status
		video    string
		duration *float64
		credits  *float64
		errName  string
		errMsg   string
	}{
		{name: "reference poll", body: `{"id":"g","status":"completed","video":{"url":"` + url + `","duration":5},"error":null,"meta":{"usage":{"tokens_used":120}}}`,
			status: job.Completed, video: url, duration: ptr(5.0), credits: ptr(120.0)},
		{name: "reference submit schema", body: `{"id":"g","status":"completed","video":{"url":"` + url + `"},"meta":{"usage":{"credits_used":0.5}}}`,
			status: job.Completed, video: url, credits: ptr(0.5)},
		{name: "array of URLs", body: `{"id":"g","status":"completed","video":["` + url + `","https://other/x.mp4"]}`, status: job.Completed, video: url},
		{name: "array of objects", body: `{"id":"g","status":"completed","video":[{"url":"` + url + `","duration":10}]}`,
			status: job.Completed, video: url, duration: ptr(10.0)},
		{name: "plain string", body: `{"id":"g","status":"completed","video":"` + url + `","duration":10}`,
			status: job.Completed, video: url, duration: ptr(10.0)},
		{name: "top-level duration", body: `{"id":"g","status":"complete","video":{"url":"` + url + `","duration":null},"duration":5}`,
			status: job.Completed, video: url, duration: ptr(5.0)},
		{name: "object duration wins", body: `{"id":"g","status":"completed","video":{"url":"` + url + `","duration":10},"duration":5}`,
			status: job.Completed, video: url, duration: ptr(10.0)},
		{name: "duration as a string", body: `{"id":"g","status":"completed","video":{"url":"` + url + `","duration":"5"}}`,
			status: job.Completed, video: url, duration: ptr(5.0)},
		{name: "credits preferred to tokens", body: `{"id":"g","status":"success","video":"` + url + `","meta":{"usage":{"credits_used":2,"tokens_used":9}}}`,
			status: job.Completed, video: url, credits: ptr(2.0)},
		{name: "succeeded", body: `{"id":"g","status":"succeeded","video":"` + url + `"}`, status: job.Completed, video: url},
		{name: "status case and spaces", body: `{"id":"g","status":" Completed ","video":"` + url + `"}`, status: job.Completed, video: url},
		{name: "odd meta ignored", body: `{"id":"g","status":"completed","video":"` + url + `","meta":"n/a"}`, status: job.Completed, video: url},
		{name: "queued", body: `{"id":"g","status":"queued"}`, status: job.Queued},
		{name: "waiting", body: `{"id":"g","status":"waiting","video":null,"meta":null}`, status: job.Queued},
		{name: "processing", body: `{"id":"g","status":"processing"}`, status: job.Generating},
		{name: "unknown status", body: `{"id":"g","status":"paused"}`, status: ""},
		{name: "error object", body: `{"id":"g","status":"error","error":{"name":"ContentModeration","message":"flagged"}}`,
			status: job.Failed, errName: "ContentModeration", errMsg: "flagged"},
		{name: "error object without name", body: `{"id":"g","status":"error","error":{"message":"flagged"}}`,
			status: job.Failed, errName: job.ErrNameGenerationFailed, errMsg: "flagged"},
		{name: "error string", body: `{"id":"g","status":"failed","error":"out of GPUs"}`,
			status: job.Failed, errName: job.ErrNameGenerationFailed, errMsg: "out of GPUs"},
		{name: "error null", body: `{"id":"g","status":"error","error":null}`, status: job.Failed, errName: job.ErrNameGenerationFailed},
		{name: "error missing", body: `{"id":"g","status":"failed"}`, status: job.Failed, errName: job.ErrNameGenerationFailed},
		{name: "error empty object", body: `{"id":"g","status":"error","error":{}}`, status: job.Failed, errName: job.ErrNameGenerationFailed},
		{name: "error of another type", body: `{"id":"g","status":"error","error":42}`, status: job.Failed, errName: job.ErrNameGenerationFailed},
		{name: "generation_id for id", body: `{"generation_id":"g","status":"queued"}`, status: job.Queued},
		{name: "id wins over generation_id", body: `{"id":"g","generation_id":"other","status":"queued"}`, status: job.Queued},
		{name: "error detail list", body: `{"id":"g","status":"error","error":{"name":"ValidationError","detail":[{"loc":["body","duration"],"msg":"must be 5 or 10","type":"enum"},{"msg":"bad prompt"}]}}`,
			status: job.Failed, errName: "ValidationError", errMsg: "body.duration: must be 5 or 10; bad prompt"},
		{name: "error detail of another shape", body: `{"id":"g","status":"error","error":{"message":"flagged","detail":"moderation"}}`,
			status: job.Failed, errName: job.ErrNameGenerationFailed, errMsg: "flagged"},
		{name: "null id, no generation_id", body: `{"id":null,"status":"queued"}`, wantErr: true},
		{name: "not JSON", body: `<html>`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "null", body: `null`, wantErr: true},
		{name: "array", body: `[]`, wantErr: true},
		{name: "no id", body: `{"status":"queued"}`, wantErr: true},
		{name: "empty id", body: `{"id":"","status":"queued"}`, wantErr: true},
		{name: "numeric id", body: `{"id":7,"status":"queued"}`, wantErr: true},
		{name: "no status", body: `{"id":"g"}`, wantErr: true},
		{name: "null status", body: `{"id":"g","status":null}`, wantErr: true},
		{name: "completed without video", body: `{"id":"g","status":"completed","video":null}`, wantErr: true},
		{name: "completed with empty array", body: `{"id":"g","status":"completed","video":[]}`, wantErr: true},
		{name: "completed with a relative URL", body: `{"id":"g","status":"completed","video":"/v.mp4"}`, wantErr: true},
		{name: "completed with a script URL", body: `{"id":"g","status":"completed","video":"javascript:alert(1)"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := parseGeneration([]byte(tt.body))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", g)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.ID != "g" || g.Status != tt.status {
				t.Fatalf("got %+v, want status %q", g, tt.status)
			}
			var gotURL string
			var gotDuration *float64
			if g.Video != nil {
				gotURL, gotDuration = g.Video.URL, g.Video.Duration
			}
			if gotURL != tt.video || !equalPtr(gotDuration, tt.duration) || !equalPtr(g.CreditsUsed, tt.credits) {
				t.Errorf("video %q lasting %v, credits %v; want %q, %v, %v",
					gotURL, deref(gotDuration), deref(g.CreditsUsed), tt.video, deref(tt.duration), deref(tt.credits))
			}
			var name, msg string
			if g.Error != nil {
				name, msg = g.Error.Name, g.Error.Message
			}
			if name != tt.errName || (tt.errMsg != "" && msg != tt.errMsg) {
				t.Errorf("error = %+v, want %s: %s", g.Error, tt.errName, tt.errMsg)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 7 ", 7 * time.Second},
		{"-3", 0},
		{"1.5", 0},
		{"99999999999999999999", 0}, // overflows uint64: unreadable
		{"9999999999", maxRetryAfter},
		{"Wed, 25 Nov 2026 12:01:30 GMT", 90 * time.Second},
		{"Wednesday, 25-Nov-26 12:01:30 GMT", 90 * time.Second}, // RFC 850
		{"Wed Nov 25 12:01:30 2026", 90 * time.Second},          // ANSI C
		{"Wed, 25 Nov 2026 11:00:00 GMT", 0},
		{"Wed, 25 Nov 2036 11:00:00 GMT", maxRetryAfter},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		body, want string
	}{
		{`{"error":{"name":"ValidationError","message":"bad seed"}}`, "ValidationError: bad seed"},
		{`{"error":{"message":"bad seed"}}`, "bad seed"},
		{`{"error":"bad seed"}`, "bad seed"},
		{`{"message":"bad seed"}`, "bad seed"},
		{"Bad Gateway\r\n", "Bad Gateway"},
		{"line\nbreak\x00", "line break"},
		{"\xff\xfe", "\uFFFD"},
		{long, strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		if got := errorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
