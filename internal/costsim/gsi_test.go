package costsim

import (
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// Each index a write reaches costs the write again, by its projected size.
func TestIndexWrites(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	waiting := job.Job{ID: "j1", Tenant: "a", Status: job.Queued, Waiting: true, CreatedAt: t0, UpdatedAt: t0,
		Deadline: t0.Add(time.Hour), GenerationSeconds: 1800, Request: job.Request{Prompt: strings.Repeat("p", 3000)}}
	admitted, err := job.Admit(waiting, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	polled, _ := job.Change{At: t0.Add(2 * time.Minute), Polls: 1}.Apply(admitted)
	ended, _ := job.Change{At: t0.Add(3 * time.Minute), Status: job.Completed, Video: &job.Video{URL: "https://v"}}.Apply(polled)
	announced, _ := job.MarkAnnounced(ended, t0.Add(4*time.Minute))
	all := jobIndexes()
	all[0].all = true // by-tenant as it was: every attribute projected
	for _, tc := range []struct {
		name          string
		before, after job.Job
		want, wantAll int
	}{
		{"create a waiting job: every index", job.Job{}, waiting, 3, 2 + 4},
		{"admit: the deadline moves (delete and put), waiting ends", waiting, admitted, 3, 3 + 4},
		{"a poll's write: no index key moves", admitted, polled, 0, 4},
		{"the end: no index key moves until it is announced", polled, ended, 0, 4},
		{"the announcement: open-by-deadline drops it", ended, announced, 1, 1 + 4},
	} {
		if got := indexWrites(tc.before, tc.after, jobIndexes()); got != tc.want {
			t.Errorf("%s: %d index write units, want %d", tc.name, got, tc.want)
		}
		if got := indexWrites(tc.before, tc.after, all); got != tc.wantAll {
			t.Errorf("%s, by-tenant projecting ALL: %d index write units, want %d", tc.name, got, tc.wantAll)
		}
	}
}
