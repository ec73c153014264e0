//go:build unix

package functions_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/steps"
)

// webhookMaster is the master webhook key in the test's Secrets Manager.
const webhookMaster = "e2e-webhook-master-key-0123456789abcdef0123456789abcdef"

// TestWorkflowFunctions runs the functions of direct starts, batches and
// notifications under the emulator, with their samples in events/: register
// records a job from a request (and follows one under a used idempotency
// key), finish puts the ended job's event on a real (moto) EventBridge bus,
// where a rule delivers it to a queue, webhook classifies what it cannot
// deliver, and summarize plans (a manifest's chunks) and sums up a batch
// with an empty environment.
func TestWorkflowFunctions(t *testing.T) {
	register := startFunction(t, "register", functionEnv(t, "register"))
	id := api.NewUUID()

	step(t, "register", func(t *testing.T) {
		var reg steps.Registration
		register.invokeOK(t, loadEvent(t, "register.json", id), &reg)
		// Register submits the job it records, as the submit function would.
		if reg.JobID != id || reg.Follow || reg.Step.Status != job.Queued || !reg.Step.Submitted || reg.Step.WaitSeconds <= 0 {
			t.Fatalf("registration %+v, want job %s submitted, not following", reg, id)
		}
		j := getJob(t, id)
		// The deadline runs from admission, just after the registration.
		if d := j.Deadline.Sub(j.CreatedAt); j.Tenant != tenantA || j.Status != job.Queued || j.UpstreamID == "" ||
			j.CallbackURL != "https://hooks.example.com/vidgen?token=sample" || j.Request.Prompt == "" ||
			d < 30*time.Minute || d > 31*time.Minute {
			t.Fatalf("recorded %+v", j)
		}
		// Another execution with the same idempotency key follows this job.
		var again steps.Registration
		register.invokeOK(t, loadEvent(t, "register.json", api.NewUUID()), &again)
		if again.JobID != id || !again.Follow {
			t.Fatalf("same key again: %+v, want to follow %s", again, id)
		}
	})
	t.Run("register refuses", func(t *testing.T) {
		for name, edit := range map[string]func(map[string]any){
			"a bad duration": func(r map[string]any) { r["duration"] = 7 },
			"a loopback callback": func(r map[string]any) {
				r["callback_url"] = "https://127.0.0.1/hook"
				delete(r, "idempotency_key")
			},
		} {
			var ev map[string]any
			json.Unmarshal(loadEvent(t, "register.json", api.NewUUID()), &ev)
			edit(ev["request"].(map[string]any))
			b, _ := json.Marshal(ev)
			le := register.invokeErr(t, b)
			if le.ErrorType != "ValidationError" {
				t.Errorf("%s: %+v, want ValidationError", name, le)
			}
		}
	})
	register.stop()
	wantJobLines(t, register)

	step(t, "finish", func(t *testing.T) {
		queue := eventQueue(t)
		if _, err := store().Update(t.Context(), id, job.Fail(time.Now(), job.ErrNameTimedOut, "the upstream did not finish by the job's deadline")); err != nil {
			t.Fatal(err)
		}
		var res notify.Result
		finish := startFunction(t, "finish", functionEnv(t, "finish"))
		finish.invokeOK(t, loadEvent(t, "finish.json", id), &res)
		finish.stop()
		wantJobLines(t, finish)
		if res.Job.ID != id || res.Error != job.ErrNameTimedOut || !res.Callback {
			t.Fatalf("result %+v", res)
		}
		var cause notify.Detail
		if err := json.Unmarshal([]byte(res.Cause), &cause); err != nil || cause.ID != id || cause.Error.Name != job.ErrNameTimedOut {
			t.Fatalf("cause %q (%v), want the record as JSON text", res.Cause, err)
		}
		got := queue.receive(t)
		if got.Source != notify.Source || got.DetailType != notify.DetailTypeFailed || got.Detail.ID != id || got.Detail.Tenant != tenantA {
			t.Fatalf("event on the bus: %+v", got)
		}
		if strings.Contains(queue.raw, "callback_url") || strings.Contains(queue.raw, "token=sample") {
			t.Errorf("the event carries the callback URL: %s", queue.raw)
		}
	})

	t.Run("webhook", func(t *testing.T) {
		fn := startFunction(t, "webhook", functionEnv(t, "webhook"))
		// The sample's receiver does not resolve here (no internet): that
		// may pass, so the state machine retries it.
		le := fn.invokeErr(t, loadEvent(t, "webhook.json", id))
		if le.ErrorType != "WebhookRetryableError" || strings.Contains(le.ErrorMessage, "token=sample") {
			t.Errorf("unreachable receiver: %+v, want WebhookRetryableError without the URL's query", le)
		}
		// In AWS the guard refuses this machine's own addresses for good.
		local := job.Job{ID: api.NewUUID(), Tenant: tenantA, Status: job.Failed, CallbackURL: "https://127.0.0.1:9/hook",
			Error:     &job.Error{Name: job.ErrNameCancelled, Message: "cancelled by the client"},
			CreatedAt: time.Now(), UpdatedAt: time.Now(), Deadline: time.Now()}
		if err := store().Create(t.Context(), local); err != nil {
			t.Fatal(err)
		}
		le = fn.invokeErr(t, loadEvent(t, "webhook.json", local.ID))
		if le.ErrorType != "WebhookRefusedError" {
			t.Errorf("loopback receiver: %+v, want WebhookRefusedError", le)
		}
		fn.stop()
		wantJobLines(t, fn)
	})

	t.Run("summarize plans", func(t *testing.T) {
		// video_batch's PlanManifest: the manifest's lines size the chunks
		// (here 50 lines, the sample's requests over and over, in 1 lane).
		const sample = "vidgen-dev-imagesbucket-example"
		lines, err := os.ReadFile(filepath.Join(e2e.root, "events", "batch-manifest.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sample3 := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
		var manifest []byte
		for i := range 50 {
			manifest = append(append(manifest, sample3[i%len(sample3)]...), '\n')
		}
		key := "batches/daily.jsonl"
		if _, err := e2e.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &e2e.bucket, Key: &key, Body: bytes.NewReader(manifest)}); err != nil {
			t.Fatal(err)
		}
		event := bytes.ReplaceAll(loadEvent(t, "summarize-plan.json", ""), []byte(sample), []byte(e2e.bucket))
		var p batch.Plan
		startFunction(t, "summarize", functionEnv(t, "summarize")).invokeOK(t, event, &p)
		if p.ItemsPerChild != 5 {
			t.Errorf("plan %+v for 50 lines in 1 lane, want 5 per child (10 chunks)", p)
		}
	})

	t.Run("summarize", func(t *testing.T) {
		// The batch's Map wrote its results to the bucket (events/batch-results).
		const sample = "vidgen-dev-imagesbucket-example"
		var manifest string
		for _, name := range []string{"manifest.json", "SUCCEEDED_0.json", "FAILED_0.json"} {
			body := bytes.ReplaceAll(loadEvent(t, "batch-results/"+name, ""), []byte(sample), []byte(e2e.bucket))
			key := "results/2026-11-25T06-00-00Z/1b7f3c2e-5a4d-4e8b-9c6f-0d2a7e1b4c93/" + name
			if name == "manifest.json" {
				manifest = key
			}
			if _, err := e2e.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &e2e.bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
		}
		event := bytes.ReplaceAll(loadEvent(t, "summarize.json", ""), []byte(sample), []byte(e2e.bucket))
		if !bytes.Contains(event, []byte(manifest)) {
			t.Fatalf("events/summarize.json does not name %s", manifest)
		}
		var s batch.Summary
		startFunction(t, "summarize", functionEnv(t, "summarize")).invokeOK(t, event, &s)
		if s.Total != 3 || s.Counts["completed"] != 1 || s.Counts["error"] != 1 || s.Counts[batch.NotRegistered] != 1 || s.FailedTotal != 2 {
			t.Fatalf("summary %+v", s)
		}
		if f := s.Failed[0]; f.Item != 1 || f.ID != "8d1e4b7a-2c5f-4e9b-a3d6-7f0c1b2e5a98" || f.Error.Name != job.ErrNameTimedOut {
			t.Errorf("first failure %+v", f)
		}
		if f := s.Failed[1]; f.Item != 2 || f.ID != "" || f.Error.Message != "invalid request: duration: must be 5 or 10" {
			t.Errorf("second failure %+v", f)
		}
	})
}

// queue is an SQS queue that an EventBridge rule on the default bus feeds
// with vidgen's events.
type queue struct {
	client *sqs.Client
	url    string
	raw    string // the last message's body
}

func eventQueue(t *testing.T) *queue {
	t.Helper()
	ctx := t.Context()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithBaseEndpoint(e2e.endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	q := &queue{client: sqs.NewFromConfig(cfg)}
	name := "vidgen-e2e-" + e2e.suffix + "-events"
	out, err := q.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	q.url = aws.ToString(out.QueueUrl)
	t.Cleanup(func() { q.client.DeleteQueue(t.Context(), &sqs.DeleteQueueInput{QueueUrl: &q.url}) })
	eb := eventbridge.NewFromConfig(cfg)
	rule := "vidgen-e2e-" + e2e.suffix + "-jobs-ended"
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &rule,
		EventPattern: aws.String(`{"source":["` + notify.Source + `"]}`)}); err != nil {
		t.Fatalf("put rule: %v", err)
	}
	arn := "arn:aws:sqs:" + region + ":" + account + ":" + name
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &rule,
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: &arn}}}); err != nil {
		t.Fatalf("put targets: %v", err)
	}
	t.Cleanup(func() {
		eb.RemoveTargets(t.Context(), &eventbridge.RemoveTargetsInput{Rule: &rule, Ids: []string{"queue"}})
		eb.DeleteRule(t.Context(), &eventbridge.DeleteRuleInput{Name: &rule})
	})
	return q
}

// receive returns the one event the queue holds.
func (q *queue) receive(t *testing.T) notify.Event {
	t.Helper()
	out, err := q.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: &q.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d events on the queue, want 1", len(out.Messages))
	}
	q.raw = aws.ToString(out.Messages[0].Body)
	var e notify.Event
	if err := json.Unmarshal([]byte(q.raw), &e); err != nil {
		t.Fatalf("event %s: %v", q.raw, err)
	}
	return e
}
