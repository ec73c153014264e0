package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/job"
)

// The EventBridge tests need moto; the package's other tests do not, but
// TestMain is per package.
func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// pngURI is a data URI of n bytes of (not really) PNG data.
func pngURI(n int) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x89}, n))
}

func completedJob() job.Job {
	seed, credits, dur := int64(42), 500000.0, 5.0
	return job.Job{
		ID:     "3f0c2a9e-5b1d-4c7e-9a2f-1d2e3f4a5b6c",
		Tenant: "tenantA",
		Status: job.Completed,
		Request: job.Request{
			Model:        job.Model,
			Prompt:       "A dragon over the mountain",
			ImageURL:     pngURI(3000),
			TailImageURL: "https://user:pw@cdn.example.com/tail.jpg?X-Amz-Signature=abc123#frag",
			AspectRatio:  "16:9",
			Duration:     5,
			Seed:         &seed,
		},
		UpstreamID:  "up-1",
		Video:       &job.Video{URL: "https://cdn.example.com/out.mp4", Duration: &dur},
		CreditsUsed: &credits,
		Polls:       3,
		CreatedAt:   t0.In(time.FixedZone("CET", 3600)),
		UpdatedAt:   t0.Add(40 * time.Second),
		Deadline:    t0.Add(30 * time.Minute),
	}
}

func TestNewEventCompleted(t *testing.T) {
	j := completedJob()
	e, err := NewEvent(j)
	if err != nil {
		t.Fatal(err)
	}
	seed := int64(42)
	want := Event{
		Source:     "vidgen",
		DetailType: "Video Generation Completed",
		Time:       t0.Add(40 * time.Second),
		Detail: Detail{
			ID:        j.ID,
			Tenant:    "tenantA",
			Status:    job.Completed,
			Video:     j.Video,
			Meta:      &Meta{Usage: Usage{CreditsUsed: 500000, TokensUsed: 500000}},
			CreatedAt: t0,
			UpdatedAt: t0.Add(40 * time.Second),
			Model:     job.Model,
			Request: RequestSummary{
				Model:       job.Model,
				Prompt:      "A dragon over the mountain",
				AspectRatio: "16:9",
				Duration:    5,
				Seed:        &seed,
				Image:       "data:image/png (3000 bytes)",
				TailImage:   "https://cdn.example.com/tail.jpg",
			},
		},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("NewEvent =\n%+v\nwant\n%+v", e, want)
	}
	if e.Detail.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at is in %s, want UTC", e.Detail.CreatedAt.Location())
	}

	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"base64,", "X-Amz-Signature", "abc123", "pw@", "upstream_id", "up-1", "deadline", "polls"} {
		if bytes.Contains(data, []byte(leak)) {
			t.Errorf("event JSON holds %q: %s", leak, data)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	detail := got["detail"].(map[string]any)
	for _, key := range []string{"id", "tenant", "status", "video", "error", "meta", "created_at", "updated_at", "model", "request"} {
		if _, ok := detail[key]; !ok {
			t.Errorf("detail has no %q: %s", key, data)
		}
	}
	if got["detail-type"] != DetailTypeCompleted || got["source"] != Source {
		t.Errorf("envelope = %s", data)
	}
	if detail["error"] != nil {
		t.Errorf("error = %v, want null", detail["error"])
	}
}

func TestNewEventFailed(t *testing.T) {
	j := completedJob()
	j.Status, j.Video, j.CreditsUsed = job.Failed, nil, nil
	j.Error = &job.Error{Name: job.ErrNameTimedOut, Message: "the generation did not finish in time"}
	j.Request.TailImageURL, j.Request.Seed, j.Request.Prompt = "", nil, ""
	e, err := NewEvent(j)
	if err != nil {
		t.Fatal(err)
	}
	if e.DetailType != DetailTypeFailed || e.Detail.Status != job.Failed || e.Detail.Error != j.Error {
		t.Errorf("event = %+v", e)
	}
	data, _ := json.Marshal(e.Detail)
	for _, want := range []string{`"video":null`, `"meta":null`, `"error":{"name":"TimedOut","message":"the generation did not finish in time"}`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("detail %s lacks %s", data, want)
		}
	}
	for _, absent := range []string{"tail_image", "seed", "prompt"} {
		if bytes.Contains(data, []byte(`"`+absent+`"`)) {
			t.Errorf("detail %s has %s, want it left out", data, absent)
		}
	}
}

// The detail names the job's model as the API's answers do: the request's,
// or gen3a_turbo for an old record whose request names none, while
// request.model stays as the record has it.
func TestNewEventModel(t *testing.T) {
	for _, tc := range []struct{ recorded, model string }{
		{"klingai/v2-master-text-to-video", "klingai/v2-master-text-to-video"},
		{job.Model, job.Model},
		{"", job.Model},
	} {
		j := completedJob()
		j.Request.Model = tc.recorded
		e, err := NewEvent(j)
		if err != nil {
			t.Fatal(err)
		}
		if e.Detail.Model != tc.model || e.Detail.Request.Model != tc.recorded {
			t.Errorf("request model %q: detail model %q, request.model %q; want %q and %q",
				tc.recorded, e.Detail.Model, e.Detail.Request.Model, tc.model, tc.recorded)
		}
		data, err := e.DetailJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := `"model":"` + tc.model + `","request":`; !bytes.Contains(data, []byte(want)) {
			t.Errorf("request model %q: detail %s lacks %s", tc.recorded, data, want)
		}
	}
}

func TestNewEventRefuses(t *testing.T) {
	for name, change := range map[string]func(*job.Job){
		"queued":     func(j *job.Job) { j.Status = job.Queued },
		"generating": func(j *job.Job) { j.Status = job.Generating },
		"no id":      func(j *job.Job) { j.ID = "" },
		"too large": func(j *job.Job) {
			j.Status = job.Failed
			j.Error = &job.Error{Name: "X", Message: strings.Repeat("m", MaxEventBytes)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			j := completedJob()
			change(&j)
			if e, err := NewEvent(j); err == nil {
				t.Errorf("NewEvent = %+v, want an error", e)
			}
		})
	}
}

type recordingPublisher struct{ events []Event }

func (p *recordingPublisher) Publish(ctx context.Context, e Event) error {
	p.events = append(p.events, e)
	return nil
}

func TestPublishJob(t *testing.T) {
	var p recordingPublisher
	if err := PublishJob(t.Context(), &p, completedJob()); err != nil {
		t.Fatal(err)
	}
	if len(p.events) != 1 || p.events[0].Detail.ID != completedJob().ID {
		t.Errorf("published %+v", p.events)
	}
	j := completedJob()
	j.Status = job.Generating
	if err := PublishJob(t.Context(), &p, j); err == nil || len(p.events) != 1 {
		t.Errorf("PublishJob(unfinished) = %v, published %d", err, len(p.events))
	}
}

func TestLogPublisher(t *testing.T) {
	var buf bytes.Buffer
	p := &LogPublisher{W: &buf}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			j := completedJob()
			j.ID = "job-" + strings.Repeat("x", i)
			if i%2 == 1 {
				j.Status, j.Error = job.Failed, &job.Error{Name: job.ErrNameCancelled, Message: "cancelled by the client"}
			}
			e, err := NewEvent(j)
			if err != nil {
				t.Error(err)
				return
			}
			if err := p.Publish(t.Context(), e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q is not an event: %v", sc.Text(), err)
		}
		if e.Source != Source || (e.DetailType != DetailTypeCompleted && e.DetailType != DetailTypeFailed) {
			t.Errorf("event %+v", e)
		}
		seen[e.Detail.ID] = true
	}
	if len(seen) != n {
		t.Errorf("read %d distinct events, want %d", len(seen), n)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogPublisherWriteError(t *testing.T) {
	e, err := NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	if err := (&LogPublisher{W: failingWriter{}}).Publish(t.Context(), e); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Publish = %v, want the write error", err)
	}
}

// Webhooks and logged events leave & alone: a receiver that copies the
// video URL from the raw body gets its signed query intact.
func TestWebhookAndEventAreNotHTMLEscaped(t *testing.T) {
	const url = "https://cdn.example.com/v.mp4?expires=1&sig=a<b>"
	e, err := NewEvent(job.Job{ID: "amp", Tenant: "t", Status: job.Completed, Video: &job.Video{URL: url},
		CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := e.Webhook()
	if err != nil {
		t.Fatal(err)
	}
	detail, err := e.DetailJSON()
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	if err := (&LogPublisher{W: &logged}).Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string]string{"webhook": string(body), "detail": string(detail), "events.jsonl": logged.String()} {
		if !strings.Contains(b, `"url":"`+url+`"`) || strings.Contains(b, `\u0026`) {
			t.Errorf("%s: %s; want the URL with a plain &", what, b)
		}
	}
	if bytes.HasSuffix(body, []byte("\n")) || bytes.HasSuffix(detail, []byte("\n")) {
		t.Errorf("webhook or detail ends in a newline: the signature covers the exact body")
	}
}
