package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/steps"
)

// cut marks the invocation in progress as cut off by Lambda: the
// machineInvoker answers it with the error Lambda reports, whatever the
// handler did before.
type cut struct{ now bool }

// cutFinisher cuts off the first cuts Polls that come to announce the job
// they recorded ended: between the write of the end and the announcement.
type cutFinisher struct {
	steps.Finisher
	cut  *cut
	cuts int
}

func (f *cutFinisher) Finish(ctx context.Context, in notify.FinishInput) (notify.Result, error) {
	if f.cuts > 0 {
		f.cuts--
		f.cut.now = true
		return notify.Result{}, errors.New("cut off")
	}
	return f.Finisher.Finish(ctx, in)
}

// cutPublisher cuts off the first cuts announcements after publishing,
// before the record is marked: the window PutEvents leaves open.
type cutPublisher struct {
	notify.Publisher
	cut  *cut
	cuts int
}

func (p *cutPublisher) Publish(ctx context.Context, e notify.Event) error {
	if err := p.Publisher.Publish(ctx, e); err != nil || p.cuts == 0 {
		return err
	}
	p.cuts--
	p.cut.now = true
	return errors.New("cut off")
}

// machineInvoker runs video_job's Lambda Tasks on the handlers as the
// local runtime does (aws-lambda-go's JSON and error names), by the
// ${<Name>FunctionArn} placeholders the file has before the template
// substitutes them; a cut invocation fails with cutErr.
type machineInvoker struct {
	fns    *lambdas.Functions
	cut    *cut
	cutErr string
}

func (m *machineInvoker) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	fn, placeholder := strings.CutPrefix(resource, "${")
	fn, function := strings.CutSuffix(fn, "FunctionArn}")
	if !placeholder || !function {
		return nil, &asl.Error{Name: "States.Runtime", Cause: "no handler for " + resource}
	}
	out, err := m.fns.Call(ctx, fn, input)
	if m.cut.now {
		m.cut.now = false
		return nil, &asl.Error{Name: m.cutErr, Cause: fn + " was cut off"}
	}
	return out, err
}

// TestCutPollStillAnnounces runs the real video_job definition on the real
// handlers, with the Poll that records the job's end cut off before it
// announces, as Lambda's timeout (Sandbox.Timedout), the Task's
// TimeoutSeconds (States.Timeout) or a crash of its sandbox would: the
// Retry's Poll finds the job ended and announces it; with every retry cut,
// the Catch goes through RecordFailure to Finish, which announces it. A
// Poll cut after publishing and before marking leaves its claim, which the
// next step takes over once the lease expired and publishes again (the one
// window PutEvents leaves open: at least once, the same event). Each way
// the execution ends as the job did, with the job marked announced.
func TestCutPollStillAnnounces(t *testing.T) {
	def, err := os.ReadFile(filepath.Join("..", "..", "statemachine", "video_job.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := asl.Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		cutErr     string
		announces  int // Polls cut before announcing
		publishes  int // announcements cut after publishing
		wantEvents int
		wantFinish bool // the Finish state runs
	}{
		{name: "Lambda timeout", cutErr: "Sandbox.Timedout", announces: 1, wantEvents: 1},
		{name: "Task timeout", cutErr: "States.Timeout", announces: 1, wantEvents: 1},
		{name: "every retry cut", cutErr: "Sandbox.Timedout", announces: 7, wantEvents: 1, wantFinish: true},
		{name: "cut after publishing", cutErr: "Sandbox.Timedout", publishes: 1, wantEvents: 2, wantFinish: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var events bytes.Buffer
			c := &cut{}
			notifier := &notify.Notifier{Store: e.store, Clock: e.clk, Log: slog.New(slog.DiscardHandler),
				Publisher: &cutPublisher{Publisher: &notify.LogPublisher{W: &events}, cut: c, cuts: tc.publishes}}
			e.h.Finisher = &cutFinisher{Finisher: notifier, cut: c, cuts: tc.announces}
			fns := lambdas.NewFunctions(map[string]any{"Register": e.registrar(e.h).Register, "Submit": e.h.Submit,
				"Poll": e.h.Poll, "Fail": e.h.Fail, "Finish": notifier.Finish})
			exe := asl.Execution{ID: "cut-1", Name: "cut-1", Input: requestJSON(t, "a cat cut off", ""), StartTime: e.clk.Now()}
			out, err := m.Run(t.Context(), exe, asl.Options{Clock: e.clk, Rand: func() float64 { return jitter },
				Invoker: &machineInvoker{fns: fns, cut: c, cutErr: tc.cutErr}, Tasks: asl.NewTasks(nil)})
			var res struct {
				ID     string     `json:"id"`
				Status job.Status `json:"status"`
			}
			if err != nil || json.Unmarshal(out, &res) != nil || res.ID != "cut-1" || res.Status != job.Completed {
				t.Fatalf("execution = %s, %v; want it succeeded with the job completed", out, err)
			}
			if c.now || e.h.Finisher.(*cutFinisher).cuts > 0 {
				t.Fatal("not every cut happened")
			}
			if n := strings.Count(events.String(), "\n"); n != tc.wantEvents {
				t.Errorf("%d events published, want %d:\n%s", n, tc.wantEvents, events.String())
			}
			if j := e.get("cut-1"); j.Status != job.Completed || j.AnnouncedAt == nil {
				t.Errorf("job = %+v; want completed and marked announced", j)
			}
			if got := fns.Invocations("Finish") > 0; got != tc.wantFinish {
				t.Errorf("the Finish state ran: %v, want %v", got, tc.wantFinish)
			}
			if n, least := fns.Invocations("Poll"), tc.announces+1; n < least {
				t.Errorf("Poll invoked %d times, want at least %d", n, least)
			}
		})
	}
}
