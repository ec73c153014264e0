package simulator

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// generation is one accepted submit. It never changes after accept: its
// status is computed from the clock at each poll.
type generation struct {
	id        string
	model     string
	seconds   int // of video; the request itself is not kept, as its images may be megabytes
	submitted time.Time
	genTime   time.Duration
	// quirks are the answer shapes it is served in: its model's (unless
	// turned off), Config.Quirks' and its sim:quirk directives'.
	quirks Quirks
	// credits is what it reports as meta.usage.credits_used.
	credits float64
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
	quirks Quirks        // sim:quirk=NAME[,NAME]
	plain  bool          // sim:quirk=none: not the model's own quirks
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
		case name == "quirk" && value != "":
			q, err := ParseQuirks(value)
			if err != nil {
				unknown = append(unknown, word)
				continue
			}
			d.quirks |= q
			if slices.Contains(strings.Split(value, ","), "none") {
				d.plain = true
			}
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
	CreditsUsed *float64 `json:"credits_used,omitempty"`
	TokensUsed  *float64 `json:"tokens_used,omitempty"`
}

// created is a create answer: the id under its documented name or, with
// QuirkGenerationID, as generation_id; and the credits the generation
// costs, which the upstream charges at creation.
type created struct {
	ID           string `json:"id,omitempty"`
	GenerationID string `json:"generation_id,omitempty"`
	Status       string `json:"status"`
	Meta         *meta  `json:"meta,omitempty"`
}

func (g *generation) created() created {
	credits := g.credits
	c := created{ID: g.id, Status: string(job.Queued), Meta: &meta{Usage: usage{CreditsUsed: &credits}}}
	if g.quirks&QuirkGenerationID != 0 {
		c.ID, c.GenerationID = "", g.id
	}
	return c
}

// detail is one item of an error's detail[] (QuirkErrorDetail), as the
// documentation's examples show it.
type detail struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Messages of the simulated generation failure.
const (
	failureName    = "ContentModeration"
	failureMessage = "The prompt or image was flagged by content moderation."
)

// report says how g stands in phase p; videoURL is the link to its video,
// used only when completed. sim:legacy's shapes win over the quirks where
// both say how a member looks.
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
		switch {
		case g.legacy:
			r.Error = failureMessage
		case g.quirks&QuirkErrorDetail != 0:
			r.Error = map[string][]detail{"detail": {{Loc: []any{"body", "prompt"}, Msg: failureMessage, Type: "content_moderation"}}}
		default:
			r.Error = job.Error{Name: failureName, Message: failureMessage}
		}
	case completed:
		seconds := float64(g.seconds)
		url := videoURL
		used := g.credits
		switch {
		case g.legacy:
			r.Status = "complete"
			r.Video = []string{url}
			r.Duration = &seconds
			r.Meta = &meta{Usage: usage{CreditsUsed: &used}}
			return r
		case g.quirks&QuirkSucceeded != 0:
			r.Status = "succeeded"
		default:
			r.Status = string(job.Completed)
		}
		if g.quirks&QuirkVideoArray != 0 {
			r.Video = []string{url}
		} else {
			r.Video = video{URL: url, Duration: seconds}
		}
		// The poll schema documents tokens_used, the create schema
		// credits_used: both, the same figure.
		r.Meta = &meta{Usage: usage{CreditsUsed: &used, TokensUsed: &used}}
	}
	return r
}
