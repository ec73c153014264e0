package costsim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/simulator"
)

// The mixed workload draws each model at its share, each clip at its
// share, usual generation times around the model's catalogued prior, long
// tails within the model's deadline; the same seed draws the same jobs.
func TestMixedWorkload(t *testing.T) {
	w := Mixed(4000, MixedModels())
	jobs := w.Generate()
	if !slices.Equal(jobs, w.Generate()) {
		t.Fatal("the same seed drew other jobs")
	}
	byModel := map[string][]Job{}
	for _, j := range jobs {
		byModel[j.Model] = append(byModel[j.Model], j)
	}
	for _, m := range w.Models {
		got := byModel[m.Model]
		if share := float64(len(got)) / float64(len(jobs)); math.Abs(share-m.Share) > 0.03 {
			t.Errorf("%s: %.3f of the jobs, want %.2f", m.Model, share, m.Share)
		}
		if !slices.Equal(Only(jobs, m.Model), got) {
			t.Errorf("%s: Only picked other jobs", m.Model)
		}
		for _, c := range m.Clips {
			var times []float64
			n := 0
			for _, j := range got {
				if j.Duration != c.Duration {
					continue
				}
				n++
				switch j.Kind {
				case Normal, Error:
					times = append(times, j.GenTime.Seconds())
				case LongTail:
					prior := pollpolicy.Prior(m.Model, c.Duration)
					if j.GenTime < min(2*prior, catalog.JobDeadline(m.Model, 0)*9/10) || j.GenTime > catalog.JobDeadline(m.Model, 0)*9/10 {
						t.Errorf("%s %d s: a long tail of %s (prior %s)", m.Model, c.Duration, j.GenTime, prior)
					}
				}
			}
			if share := float64(n) / float64(len(got)); math.Abs(share-c.Share) > 0.05 {
				t.Errorf("%s: %d-s clips are %.3f of its jobs, want %.2f", m.Model, c.Duration, share, c.Share)
			}
			slices.Sort(times)
			median := time.Duration(times[len(times)/2] * float64(time.Second))
			if prior := pollpolicy.Prior(m.Model, c.Duration); math.Abs(median.Seconds()/prior.Seconds()-1) > 0.06 {
				t.Errorf("%s %d s: median generation %s, want about its prior %s", m.Model, c.Duration, median, prior)
			}
		}
	}
	for _, j := range jobs {
		if slices.IndexFunc(w.Models, func(m ModelMix) bool { return m.Model == j.Model }) < 0 {
			t.Fatalf("a job of %q, not in the mix", j.Model)
		}
	}
}

// Every job's request is its model's own, and vidgen and the simulator
// take it as is: the mixed workload's figures are the models' own.
func TestMixedBodiesAreAccepted(t *testing.T) {
	jobs := Mixed(200, MixedModels()).Generate()
	tried := map[string]bool{}
	for _, j := range jobs {
		body, _ := json.Marshal(j.Body())
		sub, err := job.ParseSubmission(body, job.ParseOptions{})
		if err != nil {
			t.Fatalf("%s job: %s refused by vidgen: %v", j.Model, body, err)
		}
		if want := cmp.Or(j.Model, job.Model); sub.Request.Model != want {
			t.Errorf("%s job recorded as %s", j.Model, sub.Request.Model)
		}
		if !tried[j.Model] {
			tried[j.Model] = true
			if code := simulatorAnswers(body); code >= 300 {
				t.Errorf("%s job: %s refused by the simulator: %d", j.Model, body, code)
			}
		}
	}
}

// simulatorAnswers is the status the simulator answers a submit of body.
func simulatorAnswers(body []byte) int {
	sim := simulator.New(simulator.Config{Key: upstreamKey, Clock: clock.NewEvents(start), QueueTime: -1,
		PublicURL: "http://" + simHost, Log: slog.New(slog.DiscardHandler)})
	req := httptest.NewRequest(http.MethodPost, "/v2/video/generations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+upstreamKey)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec.Code
}
