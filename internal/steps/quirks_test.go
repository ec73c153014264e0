package steps_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

// Submit and Poll carry a job to its end whatever documented shape the
// upstream answers in (the simulator's quirks, forced by sim:quirk): the
// create answer's generation_id, the status "succeeded", the video as an
// array of URLs, the error as detail[].
func TestStepsReadEveryQuirk(t *testing.T) {
	for _, q := range simulator.AllQuirks() {
		for _, fail := range []bool{false, true} {
			name := q.String()
			prompt := "a cat sim:quirk=" + q.String()
			if fail {
				name += " failing"
				prompt += " sim:error"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t)
				j := e.submitted(validRequest(prompt, 5), jobDeadline)
				if j.UpstreamID == "" {
					t.Fatalf("submitted job has no upstream id: %+v", j)
				}
				e.clk.Advance(time.Minute)
				out := e.poll(e.h, steps.Input{JobID: j.ID})
				got := e.get(j.ID)
				if !fail {
					if out.Status != job.Completed || got.Status != job.Completed || got.Video == nil ||
						!strings.Contains(got.Video.URL, "/files/"+got.UpstreamID+".mp4?expires=") ||
						got.CreditsUsed == nil || *got.CreditsUsed != 500_000 {
						t.Fatalf("job %+v (video %+v), want completed with its video and 500000 credits", got, got.Video)
					}
					return
				}
				wantName := "ContentModeration"
				if q == simulator.QuirkErrorDetail {
					wantName = job.ErrNameGenerationFailed // detail[] names no error
				}
				wantFailed(t, got, wantName)
				if !strings.Contains(got.Error.Message, simFailure) {
					t.Errorf("error %+v, want the upstream's reason", got.Error)
				}
			})
		}
	}
}
