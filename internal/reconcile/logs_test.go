package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/logs/logstest"
)

// TestLogsOnlyActs runs passes at each level: a pass with nothing to do
// writes only its DEBUG summary, so INFO shows nothing; a pass that acts
// writes a line per act, and one that fails a line per failure, naming
// the job, its tenant and execution.
func TestLogsOnlyActs(t *testing.T) {
	ctx := context.Background()
	pass := func(t *testing.T, level string, x *executions, jobs ...job.Job) []map[string]any {
		t.Helper()
		s := bolttest.New(t, jobs...)
		var out bytes.Buffer
		log, err := logs.FromEnv(func(k string) string { return map[string]string{logs.EnvLevel: level}[k] }, &out)
		if err != nil {
			t.Fatal(err)
		}
		r := reconciler(s, x)
		r.Log = log
		if _, err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return logstest.Lines(t, out.String())
	}
	x := &executions{running: map[string]bool{"runs": true}}
	running := job.Job{ID: "runs", Tenant: "t", Status: job.Generating, UpstreamID: "u", CreatedAt: now.Add(-time.Hour),
		UpdatedAt: now.Add(-time.Hour), Deadline: now.Add(time.Hour)}

	if lines := pass(t, "INFO", x, running); len(lines) != 0 {
		t.Errorf("INFO, nothing to do: %v, want no line", lines)
	}
	lines := pass(t, "DEBUG", x, running)
	if len(lines) != 1 || lines[0]["msg"] != "reconciled" || lines[0]["level"] != "DEBUG" || lines[0]["open"] != 1.0 {
		t.Errorf("DEBUG, nothing to do: %v, want one DEBUG summary", lines)
	}

	late := job.Job{ID: "late", Tenant: "tenantA", Status: job.Queued, UpstreamID: "u", Resumes: 1, CreatedAt: now.Add(-time.Hour),
		UpdatedAt: now.Add(-time.Hour), Deadline: now.Add(-time.Hour)}
	lines = pass(t, "INFO", x, running, late)
	if len(lines) != 1 || lines[0]["msg"] != "ended overdue job" || lines[0]["job_id"] != "late" ||
		lines[0]["tenant"] != "tenantA" || lines[0]["execution"] != "late-r1" {
		t.Errorf("INFO, one overdue job: %v, want one line naming it", lines)
	}

	// A job it could not handle: one ERROR line naming the job and the error.
	lost := job.Job{ID: "lost", Tenant: "tenantB", Status: job.Generating, UpstreamID: "u", CreatedAt: now.Add(-time.Hour),
		UpdatedAt: now.Add(-time.Hour), Deadline: now.Add(time.Hour)}
	lines = pass(t, "INFO", &executions{runningErr: errors.New("throttled")}, lost)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["err"] != "throttled" || lines[0]["job_id"] != "lost" ||
		lines[0]["tenant"] != "tenantB" || lines[0]["execution"] != "lost" {
		t.Errorf("INFO, a job that fails: %v, want one ERROR line naming it and the error", lines)
	}
}
