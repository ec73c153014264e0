package job

import (
	"errors"
	"testing"
	"time"
)

func TestChangeApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := t0.Add(time.Minute)
	tests := []struct {
		name    string
		from    Job
		change  Change
		wantErr bool
		check   func(t *testing.T, j Job)
	}{
		{name: "queued to generating", from: Job{Status: Queued}, change: Change{At: at, Status: Generating, UpstreamID: "u1"},
			check: func(t *testing.T, j Job) {
				if j.Status != Generating || j.UpstreamID != "u1" || !j.UpdatedAt.Equal(at) {
					t.Fatalf("got %+v", j)
				}
			}},
		{name: "generating stays generating", from: Job{Status: Generating}, change: Change{At: at, Status: Generating, Polls: 1},
			check: func(t *testing.T, j Job) {
				if j.Polls != 1 {
					t.Fatalf("polls = %d", j.Polls)
				}
			}},
		{name: "backwards refused", from: Job{Status: Generating}, change: Change{At: at, Status: Queued}, wantErr: true},
		{name: "completed is final", from: Job{Status: Completed}, change: Change{At: at, Status: Failed}, wantErr: true},
		{name: "error is final", from: Job{Status: Failed}, change: Change{At: at, Polls: 1}, wantErr: true},
		{name: "unknown status refused", from: Job{Status: Queued}, change: Change{At: at, Status: "done"}, wantErr: true},
		{name: "claim once", from: Job{Status: Queued}, change: Change{At: at, ClaimSubmit: true},
			check: func(t *testing.T, j Job) {
				if j.SubmitStarted == nil || !j.SubmitStarted.Equal(at) {
					t.Fatalf("claim not recorded: %+v", j)
				}
			}},
		{name: "claim twice refused", from: Job{Status: Queued, SubmitStarted: &t0}, change: Change{At: at, ClaimSubmit: true}, wantErr: true},
		{name: "claim after submit refused", from: Job{Status: Queued, UpstreamID: "u"}, change: Change{At: at, ClaimSubmit: true}, wantErr: true},
		{name: "release", from: Job{Status: Queued, SubmitStarted: &t0}, change: Change{At: at, ReleaseSubmit: true},
			check: func(t *testing.T, j Job) {
				if j.SubmitStarted != nil {
					t.Fatal("claim not released")
				}
			}},
		{name: "fail", from: Job{Status: Generating}, change: Fail(at, ErrNameTimedOut, "too slow"),
			check: func(t *testing.T, j Job) {
				if j.Status != Failed || j.Error.Name != ErrNameTimedOut {
					t.Fatalf("got %+v", j)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.change.Apply(tt.from)
			if tt.wantErr {
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("err = %v, want ErrConflict", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}
