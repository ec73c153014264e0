package job_test

import (
	"testing"

	"github.com/vidgen/vidgen/internal/job"
)

func TestRunBy(t *testing.T) {
	fresh := job.Job{ID: "j-1", Status: job.Queued}
	resumed := job.Job{ID: "j-1", Status: job.Generating, Resumes: 2}
	ended := job.Job{ID: "j-1", Status: job.Failed, Resumes: 2}
	for _, tc := range []struct {
		j    job.Job
		exec string
		want bool
	}{
		{fresh, "j-1", true},
		{fresh, "j-1-r1", false}, // no resume yet
		{fresh, "j-1-end", false},
		{resumed, "j-1-r2", true},
		{resumed, "j-1", false},    // superseded
		{resumed, "j-1-r1", false}, // superseded
		{resumed, "j-1-r3", false}, // not given out
		{resumed, "j-1-r02", false},
		{resumed, "j-1-end", false}, // only once it ended
		{ended, "j-1-end", true},
		{ended, "j-1-r2", true},
		{fresh, "j-12", false},
		{fresh, "order-7", false},
		{fresh, "", false},
	} {
		if got := tc.j.RunBy(tc.exec); got != tc.want {
			t.Errorf("job %s (%s, %d resumes).RunBy(%q) = %v, want %v", tc.j.ID, tc.j.Status, tc.j.Resumes, tc.exec, got, tc.want)
		}
	}
}
