package steps_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// A finished video is copied before the job is recorded completed; the
// record keeps the upstream's URL and the copy's key.
func TestPollArchivesTheVideo(t *testing.T) {
	e := newEnv(t)
	files := fsblobtest.New(t)
	e.h.Archiver = &archive.Archiver{Store: files, AllowedHosts: []string{"127.0.0.1"}}
	j := e.submitted(validRequest("a cat", 5), jobDeadline)
	e.clk.Advance(done5)
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Completed, Submitted: true})
	got := e.get(j.ID)
	if got.Video == nil || got.Video.Key != "videos/"+j.ID+".mp4" || !strings.HasPrefix(got.Video.URL, e.srv.URL+"/files/"+got.UpstreamID+".mp4?expires=") {
		t.Fatalf("Video = %+v, want the upstream URL and key videos/%s.mp4", got.Video, j.ID)
	}
	r, ct, err := files.Open(t.Context(), got.Video.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, _ := io.Copy(io.Discard, r); n == 0 || ct != "video/mp4" {
		t.Errorf("the copy is %d bytes of %q, want a video/mp4", n, ct)
	}
}

// scriptedArchiver fails with errs in turn, then succeeds.
type scriptedArchiver struct {
	errs  []error
	calls int
}

func (a *scriptedArchiver) Archive(_ context.Context, jobID, _ string) (string, int64, error) {
	a.calls++
	if len(a.errs) > 0 {
		err := a.errs[0]
		a.errs = a.errs[1:]
		return "", 0, err
	}
	return archive.Key(jobID), 1, nil
}

// A failure that may pass is retried on the poll loop's backoff; one that
// will not, or one too close to the deadline for another try, completes
// the job with the upstream's URL alone.
func TestPollArchiveFailures(t *testing.T) {
	retryable := &archive.FetchError{Retryable: true, Status: 503, URL: "https://cdn.example/v.mp4", Err: errors.New("answered 503")}
	permanent := &archive.FetchError{Status: 404, URL: "https://cdn.example/v.mp4", Err: errors.New("answered 404")}
	for _, tc := range []struct {
		name     string
		errs     []error
		deadline time.Duration
		// of the two polls, the second only if the first retried
		outputs []job.Status
		key     bool
	}{
		{"retryable, then archived", []error{retryable}, jobDeadline, []job.Status{job.Generating, job.Completed}, true},
		{"own store failing, then archived", []error{errors.New("store down")}, jobDeadline, []job.Status{job.Generating, job.Completed}, true},
		{"permanent", []error{permanent}, jobDeadline, []job.Status{job.Completed}, false},
		{"retryable at the deadline", []error{retryable}, done5 + time.Second, []job.Status{job.Completed}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			arch := &scriptedArchiver{errs: tc.errs}
			e.h.Archiver = arch
			j := e.submitted(validRequest("a cat", 5), tc.deadline)
			// Generating before the video is done, so a retry finds the job
			// in that status.
			e.clk.Advance(10 * time.Second)
			e.poll(e.h, steps.Input{JobID: j.ID})
			e.clk.Advance(done5 - 10*time.Second)
			in := steps.Input{JobID: j.ID}
			for i, want := range tc.outputs {
				out := e.poll(e.h, in)
				if out.Status != want {
					t.Fatalf("poll %d: status %q, want %q", i+1, out.Status, want)
				}
				if !want.Terminal() {
					if out.Failures != in.Failures+1 || out.WaitSeconds < 1 {
						t.Fatalf("poll %d: %+v, want a wait and one more failure", i+1, out)
					}
					e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
				}
				in = carry(t, out)
			}
			got := e.get(j.ID)
			if got.Status != job.Completed || got.Video == nil || got.Video.URL == "" {
				t.Fatalf("job = %q, %+v; want completed with the upstream URL", got.Status, got.Video)
			}
			if (got.Video.Key != "") != tc.key {
				t.Errorf("Video.Key = %q, want a key: %v", got.Video.Key, tc.key)
			}
			if arch.calls != len(tc.outputs) {
				t.Errorf("Archive ran %d times, want %d", arch.calls, len(tc.outputs))
			}
		})
	}
}
