package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/vidgen/vidgen/internal/job"
)

// Generation is the upstream's view of one generation.
type Generation struct {
	ID          string
	Status      job.Status // normalized; "" when the upstream sent a status we do not know
	RawStatus   string     // exactly what the upstream sent
	Video       *job.Video
	Error       *job.Error
	CreditsUsed *float64
}

// maxErrorMessage bounds a failed generation's message, which ends up in the
// job record.
const maxErrorMessage = 1000

// parseGeneration reads an answer of either endpoint. It accepts every shape
// the reference shows and insists only on what a caller cannot do without:
// an id, a status, and a video URL once completed.
func parseGeneration(data []byte) (Generation, error) {
	var w struct {
		ID       json.RawMessage `json:"id"`
		GenID    json.RawMessage `json:"generation_id"`
		Status   json.RawMessage `json:"status"`
		Video    json.RawMessage `json:"video"`
		Duration json.RawMessage `json:"duration"`
		Error    json.RawMessage `json:"error"`
		Meta     json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return Generation{}, fmt.Errorf("decode generation: %w", err)
	}
	var g Generation
	if len(w.ID) == 0 || string(w.ID) == "null" {
		// Some models' documented create answers name it generation_id.
		w.ID = w.GenID
	}
	if json.Unmarshal(w.ID, &g.ID) != nil || g.ID == "" {
		return Generation{}, errors.New("answer has no id")
	}
	if json.Unmarshal(w.Status, &g.RawStatus) != nil || g.RawStatus == "" {
		return Generation{}, errors.New("answer has no status")
	}
	g.Status = normalize(g.RawStatus)
	g.Video = parseVideo(w.Video)
	if g.Video != nil && g.Video.Duration == nil {
		g.Video.Duration = parseNumber(w.Duration) // the reference also puts it at the top level
	}
	g.Error = parseError(w.Error, job.ErrNameGenerationFailed)
	g.CreditsUsed = parseUsage(w.Meta)

	switch g.Status {
	case job.Completed:
		if g.Video == nil {
			// Recording a completed job without its video would end it for
			// good with nothing to show; polling again may fix it.
			return Generation{}, fmt.Errorf("generation %s is %q but has no video URL", g.ID, g.RawStatus)
		}
	case job.Failed:
		if g.Error == nil {
			g.Error = &job.Error{Name: job.ErrNameGenerationFailed, Message: "the upstream gave no reason"}
		}
	}
	return g, nil
}

// normalize maps the statuses the upstream and its reference use onto job
// statuses; it returns "" for any other.
func normalize(raw string) job.Status {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "queued", "waiting":
		return job.Queued
	case "generating", "processing", "in_progress":
		return job.Generating
	case "completed", "complete", "succeeded", "success":
		return job.Completed
	case "error", "failed":
		return job.Failed
	}
	return ""
}

// parseVideo accepts an object {url, duration}, an array whose first element
// is a URL or such an object, or a bare URL. It ignores anything that is not
// an absolute http(s) URL, as that is not a video a user could fetch.
func parseVideo(raw json.RawMessage) *job.Video {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		return videoAt(s, nil)
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
			return nil
		}
		// Only a URL or an object may come first: following arrays nested
		// in arrays re-decoded the rest at every level, so a 20-KB answer
		// nested 10,000 deep cost seconds of CPU.
		if first := bytes.TrimSpace(items[0]); len(first) > 0 && first[0] != '[' {
			return parseVideo(first)
		}
		return nil
	case '{':
		var v struct {
			URL      string          `json:"url"`
			Duration json.RawMessage `json:"duration"`
		}
		if json.Unmarshal(raw, &v) != nil {
			return nil
		}
		return videoAt(v.URL, parseNumber(v.Duration))
	}
	return nil
}

func videoAt(s string, duration *float64) *job.Video {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil
	}
	return &job.Video{URL: s, Duration: duration}
}

// parseNumber reads a non-negative number, also one sent as a string.
func parseNumber(raw json.RawMessage) *float64 {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil
	}
	return &f
}

// parseError accepts an object {name, message}, a string (the message) or
// null. An error without a name gets defaultName. An object without a
// message but with a validation's detail[] ({loc, msg} items, as some
// models' documented errors carry) has the details as its message.
func parseError(raw json.RawMessage, defaultName string) *job.Error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var e job.Error
	switch raw[0] {
	case '"':
		if json.Unmarshal(raw, &e.Message) != nil {
			return nil
		}
	case '{':
		var d struct {
			job.Error
			Detail []struct {
				Loc []any  `json:"loc"`
				Msg string `json:"msg"`
			} `json:"detail"`
		}
		if json.Unmarshal(raw, &d) != nil {
			// A detail of another shape still leaves name and message.
			if json.Unmarshal(raw, &e) != nil {
				return nil
			}
			break
		}
		e = d.Error
		if e.Message == "" {
			var parts []string
			for _, it := range d.Detail {
				loc := make([]string, 0, len(it.Loc))
				for _, l := range it.Loc {
					loc = append(loc, fmt.Sprint(l))
				}
				switch {
				case it.Msg == "":
				case len(loc) > 0:
					parts = append(parts, strings.Join(loc, ".")+": "+it.Msg)
				default:
					parts = append(parts, it.Msg)
				}
			}
			e.Message = strings.Join(parts, "; ")
		}
	default:
		return nil
	}
	e.Name = clip(e.Name, maxMessage)
	e.Message = clip(e.Message, maxErrorMessage)
	if e.Name == "" && e.Message == "" {
		return nil
	}
	if e.Name == "" {
		e.Name = defaultName
	}
	return &e
}

// parseUsage reads meta.usage, preferring credits_used to tokens_used.
func parseUsage(raw json.RawMessage) *float64 {
	var m struct {
		Usage struct {
			CreditsUsed json.RawMessage `json:"credits_used"`
			TokensUsed  json.RawMessage `json:"tokens_used"`
		} `json:"usage"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	if n := parseNumber(m.Usage.CreditsUsed); n != nil {
		return n
	}
	return parseNumber(m.Usage.TokensUsed)
}
