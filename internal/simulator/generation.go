package simulator

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// generation is one accepted submit. It never changes after accept: its
// status is computed from the clock at each poll.
type generation struct {
	id        string
	seconds   int // of video; the request itself is not kept, as its images may be megabytes
	submitted time.Time
	genTime   time.Duration
	directives
}

// ends reports when g completes or fails, given the server's queue time;
// finite is false for a generation that never does. It is the one place
// that says so, for both polls and Stats.
func (g *generation) ends(queue time.Duration) (end time.Time, finite bool) {
	if g.never {
		return time.Time{}, false
	}
	// Adding to a time cannot overflow as queue+genTime could with a huge
	// sim:gen.
	return g.submitted.Add(queue).Add(g.genTime), true
}

// directives are the per-generation behaviours chosen in the prompt.
type directives struct {
	fail   bool          // sim:error
	never  bool          // sim:never
	vanish bool          // sim:vanish
	status string        // sim:status=WORD
	gen    time.Duration // sim:gen=SECONDS; 0 when absent
	legacy bool          // sim:legacy
}

const directivePrefix = "sim:"

// parseDirectives reads the sim: words of a prompt, returning the ones it
// does not understand separately.
func parseDirectives(prompt string) (d directives, unknown []string) {
	for _, word := range strings.Fields(prompt) {
		rest, ok := strings.CutPrefix(word, directivePrefix)
		if !ok {
			continue
		}
		name, value, hasValue := strings.Cut(rest, "=")
		switch {
		case name == "error" && !hasValue:
			d.fail = true
		case name == "never" && !hasValue:
			d.never = true
		case name == "vanish" && !hasValue:
			d.vanish = true
		case name == "legacy" && !hasValue:
			d.legacy = true
		case name == "status" && value != "":
			d.status = value
		case name == "gen" && hasValue:
			secs, err := strconv.ParseFloat(value, 64)
			// The bound keeps the conversion to a Duration from overflowing.
			if err != nil || secs <= 0 || secs > math.MaxInt64/float64(time.Second) {
				unknown = append(unknown, word)
				continue
			}
			d.gen = time.Duration(secs * float64(time.Second))
		default:
			unknown = append(unknown, word)
		}
	}
	return d, unknown
}

type phase int

const (
	queued phase = iota
	generating
	completed
	failed
)

// report is a poll's answer. Video, Error and Meta are always present, null
// when empty, as the upstream sends them.
type report struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Video    any      `json:"video"`
	Duration *float64 `json:"duration,omitempty"` // legacy shape only
	Error    any      `json:"error"`
	Meta     *meta    `json:"meta"`
}

type video struct {
	URL      string  `json:"url"`
	Duration float64 `json:"duration"`
}

type meta struct {
	Usage usage `json:"usage"`
}

type usage struct {
	TokensUsed  *float64 `json:"tokens_used,omitempty"`
	CreditsUsed *float64 `json:"credits_used,omitempty"`
}

// Messages of the simulated generation failure.
const (
	failureName    = "ContentModeration"
	failureMessage = "The prompt or image was flagged by content moderation."
)

// report says how g stands in phase p; videoURL is the link to its video,
// used only when completed.
func (g *generation) report(p phase, videoURL string) report {
	r := report{ID: g.id}
	switch p {
	case queued:
		r.Status = string(job.Queued)
		if g.legacy {
			r.Status = "waiting"
		}
	case generating:
		r.Status = string(job.Generating)
		if g.status != "" {
			r.Status = g.status
		}
	case failed:
		r.Status = string(job.Failed)
		if g.legacy {
			r.Error = failureMessage
		} else {
			r.Error = job.Error{Name: failureName, Message: failureMessage}
		}
	case completed:
		seconds := float64(g.seconds)
		url := videoURL
		used := seconds * tokensPerSecond
		if g.legacy {
			r.Status = "complete"
			r.Video = []string{url}
			r.Duration = &seconds
			r.Meta = &meta{Usage: usage{CreditsUsed: &used}}
		} else {
			r.Status = string(job.Completed)
			r.Video = video{URL: url, Duration: seconds}
			r.Meta = &meta{Usage: usage{TokensUsed: &used}}
		}
	}
	return r
}
