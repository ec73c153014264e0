package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/job"
)

// TestUntriedJobKeepsItsName: a job no step has touched whose execution
// does not run is started under its own name however old its record is,
// so that a start still on its way (a slow API call) is the same
// execution rather than one the job's resume would refuse; only when that
// name's execution has ended without touching the job is it resumed under
// a new name.
func TestUntriedJobKeepsItsName(t *testing.T) {
	for _, tc := range []struct {
		name        string
		startErr    error
		wantStarted []string
		wantResumes int
	}{
		{"started under its own name", nil, []string{"old"}, 0},
		{"its own execution ended: resumed", errors.New("execution already exists and has closed"), nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := job.Job{ID: "old", Tenant: "a", Status: job.Queued, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
				Deadline: now.Add(time.Hour), Request: job.Request{Model: job.Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}}
			s := bolttest.New(t, old)
			x := &executions{running: map[string]bool{}, startErr: tc.startErr}
			r := reconciler(s, &onceFailing{x: x})
			r.Grace = 5 * time.Minute
			if _, err := r.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Get(context.Background(), "old")
			if got.Resumes != tc.wantResumes {
				t.Errorf("resumes %d, want %d", got.Resumes, tc.wantResumes)
			}
			want := tc.wantStarted
			if tc.wantResumes > 0 {
				want = []string{"old-r1"}
			}
			if !slices.Equal(x.started, want) {
				t.Errorf("started %v, want %v", x.started, want)
			}
		})
	}
}

// onceFailing fails only the first start, with x's startErr.
type onceFailing struct {
	x      *executions
	failed bool
}

func (o *onceFailing) Running(ctx context.Context, name string) (bool, error) {
	return o.x.Running(ctx, name)
}

func (o *onceFailing) Start(ctx context.Context, name, id string) error {
	if o.x.startErr != nil && !o.failed {
		o.failed = true
		return o.x.startErr
	}
	o.x.started = append(o.x.started, name)
	return nil
}
