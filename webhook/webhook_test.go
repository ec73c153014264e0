package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The reference vector of the Standard Webhooks test suites: any receiver
// library verifies what Sign produces.
func TestSignReferenceVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	ts := time.Unix(1614265330, 0)
	got, err := Sign(secret, id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if err := Verify(secret, signedHeaders(id, ts, want), []byte(body), ts.Add(time.Minute), 0); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

func signedHeaders(id string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return h
}

const testSecret = "whsec_dGhpcy1pcy1hLTMyLWJ5dGUtdGVzdC1rZXktZm9yLXZpZGdlbg=="

func TestVerify(t *testing.T) {
	body := []byte(`{"type":"video.generation.completed","data":{"id":"j1"}}`)
	sig, err := Sign(testSecret, "msg_j1", t0, body)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := Sign("whsec_"+base64.StdEncoding.EncodeToString([]byte("another key, 24 bytes or more")), "msg_j1", t0, body)
	if err != nil {
		t.Fatal(err)
	}
	ok := signedHeaders("msg_j1", t0, sig)
	with := func(name, value string) http.Header {
		h := ok.Clone()
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
		return h
	}
	for _, tc := range []struct {
		name    string
		secret  string
		headers http.Header
		body    []byte
		now     time.Time
		want    error // nil means valid
	}{
		{"valid", testSecret, ok, body, t0, nil},
		{"valid, 4m59s late", testSecret, ok, body, t0.Add(5*time.Minute - time.Second), nil},
		{"valid, 4m59s early", testSecret, ok, body, t0.Add(-5*time.Minute + time.Second), nil},
		{"rotation: old and new signatures", testSecret, with(HeaderSignature, otherSig+" "+sig), body, t0, nil},
		{"other schemes skipped", testSecret, with(HeaderSignature, "v1a,AAAA "+sig), body, t0, nil},
		{"tampered body", testSecret, ok, append(append([]byte{}, body[:len(body)-2]...), `2"}}`...), t0, ErrSignature},
		{"body with a trailing newline", testSecret, ok, append(append([]byte{}, body...), '\n'), t0, ErrSignature},
		{"wrong secret", "whsec_" + base64.StdEncoding.EncodeToString([]byte("not the key of this sender")), ok, body, t0, ErrSignature},
		{"only another key's signature", testSecret, with(HeaderSignature, otherSig), body, t0, ErrSignature},
		{"other id", testSecret, with(HeaderID, "msg_j2"), body, t0, ErrSignature},
		{"signature without scheme", testSecret, with(HeaderSignature, strings.TrimPrefix(sig, "v1,")), body, t0, ErrSignature},
		{"signature under another scheme", testSecret, with(HeaderSignature, "v2,"+strings.TrimPrefix(sig, "v1,")), body, t0, ErrSignature},
		{"timestamp shifted", testSecret, with(HeaderTimestamp, strconv.FormatInt(t0.Unix()+1, 10)), body, t0, ErrSignature},
		{"old timestamp", testSecret, ok, body, t0.Add(6 * time.Minute), ErrTimestamp},
		{"future timestamp", testSecret, ok, body, t0.Add(-6 * time.Minute), ErrTimestamp},
		{"timestamp not a number", testSecret, with(HeaderTimestamp, "2026-03-01T12:00:00Z"), body, t0, ErrTimestamp},
		{"no id", testSecret, with(HeaderID, ""), body, t0, ErrMissingHeader},
		{"no timestamp", testSecret, with(HeaderTimestamp, ""), body, t0, ErrMissingHeader},
		{"no signature", testSecret, with(HeaderSignature, ""), body, t0, ErrMissingHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.headers, tc.body, tc.now, 5*time.Minute)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyTolerance(t *testing.T) {
	body := []byte(`{}`)
	sig, err := Sign(testSecret, "msg_1", t0, body)
	if err != nil {
		t.Fatal(err)
	}
	h := signedHeaders("msg_1", t0, sig)
	if err := Verify(testSecret, h, body, t0.Add(time.Hour), 2*time.Hour); err != nil {
		t.Errorf("Verify with a 2h tolerance, 1h late = %v", err)
	}
	if err := Verify(testSecret, h, body, t0.Add(2*time.Second), time.Second); !errors.Is(err, ErrTimestamp) {
		t.Errorf("Verify with a 1s tolerance, 2s late = %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ secret, id string }{
		"no prefix":        {strings.TrimPrefix(testSecret, "whsec_"), "msg_1"},
		"not base64":       {"whsec_not*base64", "msg_1"},
		"empty key":        {"whsec_", "msg_1"},
		"id with a dot":    {testSecret, "msg.1"},
		"id with a space":  {testSecret, "msg 1"},
		"empty id":         {testSecret, ""},
		"asymmetric key":   {"whsk_" + strings.TrimPrefix(testSecret, "whsec_"), "msg_1"},
		"secret as header": {"v1," + testSecret, "msg_1"},
	} {
		t.Run(name, func(t *testing.T) {
			sig, err := Sign(tc.secret, tc.id, t0, []byte("{}"))
			if err == nil {
				t.Fatalf("Sign = %q, want an error", sig)
			}
			if key := strings.TrimPrefix(testSecret, "whsec_"); strings.Contains(err.Error(), key) {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}
