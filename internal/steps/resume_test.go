package steps_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// resume runs Register as the state machine's Resume state does.
func (e *regEnv) resume(t *testing.T, exec, input string) (steps.Registration, error) {
	t.Helper()
	return e.r.Register(t.Context(), steps.RegisterInput{Request: json.RawMessage(input), Execution: exec, Resume: true})
}

// recordJob stores a job of tenant as the API records one.
func (e *regEnv) recordJob(t *testing.T, id, tenant string, status job.Status, resumes int) job.Job {
	t.Helper()
	now := e.clk.Now()
	j := job.Job{ID: id, Tenant: tenant, Status: status, Resumes: resumes,
		Request:   job.Request{Model: job.Model, ImageURL: "https://example.com/b.jpg", AspectRatio: "16:9", Duration: 5},
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(time.Hour)}
	if status == job.Failed {
		j.Error = &job.Error{Name: job.ErrNameTimedOut, Message: "late"}
	}
	if err := e.store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// Only the executions vidgen starts for a recorded job may name it: the
// job id itself, <id>-r<n> for the current resume, <id>-end once it ended.
func TestRegisterResumesOnlyTheJobsOwnExecution(t *testing.T) {
	e := newRegEnv(t)
	fresh := e.recordJob(t, "job-b1", "tenantB", job.Queued, 0)
	resumed := e.recordJob(t, "job-b2", "tenantB", job.Generating, 2)
	ended := e.recordJob(t, "job-b3", "tenantB", job.Failed, 0)
	for _, tc := range []struct {
		exec, input string
		want        *steps.Registration // nil: refused
	}{
		{exec: "job-b1", input: `{"job_id":"job-b1"}`,
			want: &steps.Registration{JobID: "job-b1", Step: steps.Output{JobID: "job-b1", Status: job.Queued}}},
		{exec: "job-b2-r2", input: `{"job_id":"job-b2"}`,
			want: &steps.Registration{JobID: "job-b2", Step: steps.Output{JobID: "job-b2", Status: job.Generating}}},
		{exec: "job-b3-end", input: `{"job_id":"job-b3"}`,
			want: &steps.Registration{JobID: "job-b3", Step: steps.Output{JobID: "job-b3", Status: job.Failed}}},
		{exec: "job-b3", input: `{"job_id":"job-b3"}`,
			want: &steps.Registration{JobID: "job-b3", Step: steps.Output{JobID: "job-b3", Status: job.Failed}}},

		// Another tenant's workflow, batch item or direct start.
		{exec: "tenant-a-order-7", input: `{"job_id":"job-b1"}`},
		{exec: "job-b1-r1", input: `{"job_id":"job-b1"}`},        // no such resume
		{exec: "job-b2", input: `{"job_id":"job-b2"}`},           // superseded by -r2
		{exec: "job-b2-r1", input: `{"job_id":"job-b2"}`},        // superseded by -r2
		{exec: "job-b1-end", input: `{"job_id":"job-b1"}`},       // not ended
		{exec: "job-b1", input: `{"job_id":"job-b2"}`},           // another job's name
		{exec: "no-such-job", input: `{"job_id":"no-such-job"}`}, // nothing recorded
	} {
		t.Run(tc.exec+" "+tc.input, func(t *testing.T) {
			reg, err := e.resume(t, tc.exec, tc.input)
			if tc.want != nil {
				if err != nil || !reflect.DeepEqual(reg, *tc.want) {
					t.Fatalf("Register = %+v, %v; want %+v", reg, err, *tc.want)
				}
				return
			}
			var ve *job.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "job_id" {
				t.Fatalf("Register = %+v, %v; want a ValidationError on job_id", reg, err)
			}
			if strings.Contains(err.Error(), "tenantB") || strings.Contains(err.Error(), "example.com") {
				t.Errorf("the refusal tells about the job: %v", err)
			}
		})
	}
	for _, j := range []job.Job{fresh, resumed, ended} {
		got, err := e.store.Get(t.Context(), j.ID)
		if err != nil || !reflect.DeepEqual(got, j) {
			t.Errorf("job %s changed: %+v, %v", j.ID, got, err)
		}
	}
}

// job_id beside anything else (a batch line, a request) is not vidgen's
// own input, and job_id is not a field of a request.
func TestRegisterRefusesJobIDInARequest(t *testing.T) {
	e := newRegEnv(t)
	e.recordJob(t, "job-b1", "tenantB", job.Queued, 0)
	for _, input := range []string{
		`{"job_id":"job-b1","tenant":"tenantA","model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`,
		`{"job_id":"job-b1","tenant":"tenantA","idempotency_key":"batch-x-0","batch":{"id":"x","item":0}}`,
		`{"job_id":7}`,
		`{"job_id":"job-b1"}`,
	} {
		for _, resume := range []bool{true, false} {
			if resume && input == `{"job_id":"job-b1"}` {
				continue // vidgen's own input, refused above for this name
			}
			reg, err := e.r.Register(t.Context(), steps.RegisterInput{Request: json.RawMessage(input), Execution: "a-order-1", Resume: resume})
			var ve *job.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), "job_id") {
				t.Errorf("Register(%s, resume %v) = %+v, %v; want a ValidationError naming job_id", input, resume, reg, err)
			}
		}
	}
	e.wantNoJob(t, "a-order-1")
	if j, _ := e.store.Get(t.Context(), "job-b1"); j.Tenant != "tenantB" || j.Status != job.Queued {
		t.Errorf("job changed: %+v", j)
	}
}

// A direct start named after another job (one waiting for a slot has no
// execution holding its name) is refused: it neither drives that job nor
// writes images under its id.
func TestRegisterRefusesAnotherJobsName(t *testing.T) {
	e := newRegEnv(t)
	other := e.recordJob(t, "job-b1", "tenantB", job.Queued, 0)
	big, _ := pngDataURI(100 << 10)
	for _, input := range []string{
		`{"tenant":"tenantA","model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`,
		`{"tenant":"tenantA","model":"gen3a_turbo","image_url":"` + big + `"}`,
		`{"tenant":"tenantA","idempotency_key":"k","model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`,
		// The same tenant with another request does not get the job either.
		`{"tenant":"tenantB","model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`,
	} {
		_, err := e.register(t, other.ID, input)
		var ve *job.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Field != "execution name" {
			t.Errorf("Register = %v, want a ValidationError on the execution name", err)
		}
	}
	if got, _ := e.store.Get(t.Context(), other.ID); !reflect.DeepEqual(got, other) {
		t.Errorf("job changed: %+v", got)
	}
	if _, _, err := e.blobs.Get(t.Context(), "images/"+other.ID+"/image_url"); err == nil {
		t.Error("an image was written under the other job's id")
	}
	// The execution's own job, recorded by an attempt whose answer was
	// lost, is still its own.
	body := `{"tenant":"tenantA","model":"gen3a_turbo","image_url":"` + big + `"}`
	first := e.mustRegister(t, "order-1", body)
	e.clk.Advance(time.Second)
	if again := e.mustRegister(t, "order-1", body); !reflect.DeepEqual(again, first) {
		t.Errorf("retry = %+v, want %+v", again, first)
	}
}

// A request read back from the store has its numbers normalised (DynamoDB
// writes 10.0 and 1e1 as 10, 0.50 as 0.5): Register, retried after a lost
// answer, still knows its own job's request, and a different value is
// still another request.
func TestSameRequestComparesNumbersByValue(t *testing.T) {
	body := func(duration, strength string) job.Request {
		var b map[string]any
		dec := json.NewDecoder(strings.NewReader(`{"model":"kling-v2-master","duration":` + duration +
			`,"camera":{"strength":` + strength + `},"steps":[` + duration + `,"10.0"]}`))
		dec.UseNumber()
		if err := dec.Decode(&b); err != nil {
			t.Fatal(err)
		}
		return job.Request{Model: "kling-v2-master", Body: b}
	}
	stored := body("10", "0.5")
	for _, sent := range []job.Request{body("10.0", "0.50"), body("1e1", "5e-1"), body("10", "0.5")} {
		if !steps.SameRequest(stored, sent) {
			t.Errorf("%v and %v: want the same request", stored.Body, sent.Body)
		}
	}
	for _, other := range []job.Request{body("11", "0.5"), body("10", "0.51"), body(`"10"`, "0.5")} {
		if steps.SameRequest(stored, other) {
			t.Errorf("%v and %v: want different requests", stored.Body, other.Body)
		}
	}
	// Digits beyond a float64's are still compared.
	if steps.SameRequest(body("10", "0.50000000000000000001"), body("10", "0.5")) {
		t.Error("0.50000000000000000001 and 0.5: want different requests")
	}
}
