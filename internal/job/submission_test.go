package job_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
)

// subRequest is the normalised form of subBody's request.
var subRequest = job.Request{
	Model: job.Model, ImageURL: "https://example.com/a.jpg",
	AspectRatio: job.DefaultAspectRatio, Duration: job.DefaultDuration,
}

// subBody is a valid request to which a test appends extension members.
func subBody(extra string) string {
	b := `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

// checkHTTPS is the callback check the API uses for public deployments.
func checkHTTPS(u string) error { return notify.CheckURL(u, false) }

// wantFields checks that err is a *job.ValidationError listing exactly want,
// in order.
func wantFields(t *testing.T, err error, want []job.FieldError) {
	t.Helper()
	var ve *job.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want a *job.ValidationError", err, err)
	}
	if !reflect.DeepEqual(ve.Fields, want) {
		t.Errorf("fields:\n got  %+v\n want %+v", ve.Fields, want)
	}
}

func TestParseSubmission(t *testing.T) {
	unknown := func(field string) job.FieldError { return job.FieldError{Field: field, Message: "unknown field"} }
	for _, tc := range []struct {
		name string
		body string
		opts job.ParseOptions
		want job.Submission
		// bad, when set, are the fields the parse must refuse.
		bad []job.FieldError
	}{
		{
			name: "callback_url refused as unknown without CheckCallback",
			body: subBody(`"callback_url":"https://hooks.example.com/v"`),
			bad:  []job.FieldError{unknown("callback_url")},
		},
		{
			name: "callback_url refused as unknown with Direct but no CheckCallback",
			body: subBody(`"callback_url":"https://hooks.example.com/v"`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{unknown("callback_url")},
		},
		{
			name: "callback_url accepted by CheckCallback",
			body: subBody(`"callback_url":"https://hooks.example.com/v?token=abc"`),
			opts: job.ParseOptions{CheckCallback: checkHTTPS},
			want: job.Submission{Request: subRequest, CallbackURL: "https://hooks.example.com/v?token=abc"},
		},
		{
			name: "callback_url refused by CheckCallback names the field",
			body: subBody(`"callback_url":"http://127.0.0.1/hook"`),
			opts: job.ParseOptions{CheckCallback: checkHTTPS},
			bad:  []job.FieldError{{Field: "callback_url", Message: "webhook destination not allowed: must use https"}},
		},
		{
			name: "callback_url must be a string",
			body: subBody(`"callback_url":42`),
			opts: job.ParseOptions{CheckCallback: checkHTTPS},
			bad:  []job.FieldError{{Field: "callback_url", Message: "must be a string"}},
		},
		{
			name: "direct fields are unknown without Direct",
			body: subBody(`"tenant":"team-a","idempotency_key":"k-1","batch":{"id":"b","item":1}`),
			opts: job.ParseOptions{CheckCallback: checkHTTPS},
			bad:  []job.FieldError{unknown("batch"), unknown("idempotency_key"), unknown("tenant")},
		},
		{
			name: "direct fields accepted with Direct",
			body: subBody(`"tenant":"team-a","idempotency_key":"batch-nightly-7","batch":{"item":7,"id":"nightly"}`),
			opts: job.ParseOptions{Direct: true},
			want: job.Submission{Request: subRequest, Tenant: "team-a", IdempotencyKey: "batch-nightly-7",
				Batch: &job.BatchItem{ID: "nightly", Item: 7}},
		},
		{
			name: "batch item defaults to 0 and integral floats count",
			body: subBody(`"batch":{"id":"b","item":0.0}`),
			opts: job.ParseOptions{Direct: true},
			want: job.Submission{Request: subRequest, Batch: &job.BatchItem{ID: "b", Item: 0}},
		},
		{
			name: "explicit nulls of extension fields are ignored",
			body: subBody(`"callback_url":null,"tenant":null,"idempotency_key":null,"batch":null`),
			opts: job.ParseOptions{CheckCallback: func(string) error { return errors.New("must not be called") }, Direct: true},
			want: job.Submission{Request: subRequest},
		},
		{
			name: "batch id is required",
			body: subBody(`"batch":{"item":2}`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch.id", Message: "is required"}},
		},
		{
			name: "batch must be an object",
			body: subBody(`"batch":"nightly"`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch", Message: "must be an object with id and item"}},
		},
		{
			name: "batch item is a non-negative integer",
			body: subBody(`"batch":{"id":"b","item":-1}`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch.item", Message: "must be between 0 and 2147483647"}},
		},
		{
			name: "batch item is not a fraction",
			body: subBody(`"batch":{"id":"b","item":1.5}`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch.item", Message: "must be an integer"}},
		},
		{
			name: "batch item is not a string",
			body: subBody(`"batch":{"id":"b","item":"3"}`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch.item", Message: "must be an integer"}},
		},
		{
			name: "unknown batch member and bad batch id together",
			body: subBody(`"batch":{"x":1,"id":"","item":3}`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch.id", Message: "must not be empty"}, unknown("batch.x")},
		},
		{
			name: "batch id too long",
			body: subBody(`"batch":{"id":"` + strings.Repeat("b", job.MaxBatchID+1) + `"}`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "batch.id", Message: "must be at most 128 bytes"}},
		},
		{
			name: "tenant with a control character",
			body: subBody(`"tenant":"team\u0007a"`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "tenant", Message: "must not contain control characters"}},
		},
		{
			name: "tenant too long",
			body: subBody(`"tenant":"` + strings.Repeat("t", job.MaxTenant+1) + `"`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "tenant", Message: "must be at most 128 bytes"}},
		},
		{
			name: "idempotency key with a space",
			body: subBody(`"idempotency_key":"order 17"`),
			opts: job.ParseOptions{Direct: true},
			bad:  []job.FieldError{{Field: "idempotency_key", Message: "must be printable ASCII without spaces"}},
		},
		{
			name: "every bad field at once, sorted, with the request's own",
			body: `{"model":"gen3a_turbo","duration":7,"foo":1,"callback_url":"ftp://hooks.example.com/",` +
				`"tenant":"","idempotency_key":"` + strings.Repeat("k", job.MaxIdempotencyKey+1) + `",` +
				`"batch":{"item":-2,"y":true}}`,
			opts: job.ParseOptions{CheckCallback: checkHTTPS, Direct: true},
			bad: []job.FieldError{
				{Field: "batch.id", Message: "is required"},
				{Field: "batch.item", Message: "must be between 0 and 2147483647"},
				unknown("batch.y"),
				{Field: "callback_url", Message: "webhook destination not allowed: must use https"},
				{Field: "duration", Message: "must be 5 or 10"},
				unknown("foo"),
				{Field: "idempotency_key", Message: "must be at most 255 characters"},
				{Field: "image_url", Message: "is required"},
				{Field: "tenant", Message: "must not be empty"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := job.ParseSubmission([]byte(tc.body), tc.opts)
			if tc.bad != nil {
				wantFields(t, err, tc.bad)
				if !reflect.DeepEqual(got, job.Submission{}) {
					t.Errorf("a refused submission came back non-empty: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubmission: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("submission:\n got  %+v (batch %+v)\n want %+v (batch %+v)", got, got.Batch, tc.want, tc.want.Batch)
			}
		})
	}
}

// CheckCallback sees the URL exactly as sent, once.
func TestParseSubmissionCallsCheckCallback(t *testing.T) {
	var seen []string
	opts := job.ParseOptions{CheckCallback: func(u string) error { seen = append(seen, u); return nil }}
	const u = "https://hooks.example.com/v?token=a%20b"
	if _, err := job.ParseSubmission([]byte(subBody(`"callback_url":"`+u+`"`)), opts); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != u {
		t.Errorf("CheckCallback saw %q, want exactly [%q]", seen, u)
	}
}

// ParseRequest takes only the upstream's schema, whatever options it is
// handed: callback_url and the direct fields stay unknown.
func TestParseRequestRefusesExtensions(t *testing.T) {
	opts := job.ParseOptions{CheckCallback: func(string) error { return nil }, Direct: true}
	for _, tc := range []struct {
		extra string
		field string
	}{
		{`"callback_url":"https://hooks.example.com/v"`, "callback_url"},
		{`"tenant":"team-a"`, "tenant"},
		{`"idempotency_key":"k"`, "idempotency_key"},
		{`"batch":{"id":"b","item":1}`, "batch"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := job.ParseRequest([]byte(subBody(tc.extra)), opts)
			wantFields(t, err, []job.FieldError{{Field: tc.field, Message: "unknown field"}})
		})
	}
	// The options it clears are the caller's copy: AllowRatio still works.
	r, err := job.ParseRequest([]byte(subBody(`"ratio":"9:16"`)), job.ParseOptions{AllowRatio: true, Direct: true})
	if err != nil || r.AspectRatio != "9:16" {
		t.Errorf("ParseRequest with ratio = %+v, %v; want aspect_ratio 9:16", r, err)
	}
}

func TestSubmissionHash(t *testing.T) {
	parse := func(body string) job.Submission {
		t.Helper()
		s, err := job.ParseSubmission([]byte(body), job.ParseOptions{CheckCallback: checkHTTPS, Direct: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	plain := parse(subBody(""))
	if got, want := plain.Hash(), job.HashRequest(plain.Request); got != want {
		t.Errorf("Hash without a callback = %s, want HashRequest's %s", got, want)
	}
	// Field order, whitespace and explicit defaults do not matter.
	reordered := parse(`{ "duration": 5, "image_url": "https://example.com/a.jpg", "aspect_ratio": "16:9", "model": "gen3a_turbo" }`)
	if reordered.Hash() != plain.Hash() {
		t.Error("the same request spelled differently hashes differently")
	}
	// The tenant and key are the claim's own key, not part of what it matches.
	if keyed := parse(subBody(`"tenant":"team-a","idempotency_key":"k"`)); keyed.Hash() != plain.Hash() {
		t.Error("tenant or idempotency_key changed the hash")
	}
	withA := parse(subBody(`"callback_url":"https://hooks.example.com/a"`))
	withB := parse(subBody(`"callback_url":"https://hooks.example.com/b"`))
	if withA.Hash() == plain.Hash() {
		t.Error("a callback_url does not change the hash")
	}
	if withA.Hash() == withB.Hash() {
		t.Error("two callback URLs hash the same")
	}
	if withA.Hash() != parse(subBody(`"callback_url":"https://hooks.example.com/a"`)).Hash() {
		t.Error("the same submission hashes differently twice")
	}
	if len(plain.Hash()) != 64 || strings.Trim(plain.Hash(), "0123456789abcdef") != "" {
		t.Errorf("Hash = %q, want 64 lower-case hex digits", plain.Hash())
	}
}

func TestCheckIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		key, want string
	}{
		{"", ""},
		{"order-17_~!{}", ""},
		{strings.Repeat("k", job.MaxIdempotencyKey), ""},
		{strings.Repeat("k", job.MaxIdempotencyKey+1), "must be at most 255 characters"},
		{"has space", "must be printable ASCII without spaces"},
		{"tab\there", "must be printable ASCII without spaces"},
		{"del\x7f", "must be printable ASCII without spaces"},
		{"ünï", "must be printable ASCII without spaces"},
	} {
		if got := job.CheckIdempotencyKey(tc.key); got != tc.want {
			t.Errorf("CheckIdempotencyKey(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
