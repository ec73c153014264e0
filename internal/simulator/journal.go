package simulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// entry is one accepted generation as the journal keeps it: enough to
// answer polls and serve its video after the simulator restarts, as a real
// upstream outlives its clients.
type entry struct {
	ID string `json:"id"`
	// Model, Quirks and Credits are absent from lines written before the
	// simulator served every model: those generations are gen3a_turbo's,
	// in the documented shapes, at tokensPerSecond.
	Model     string        `json:"model,omitempty"`
	Quirks    Quirks        `json:"quirks,omitempty"`
	Credits   *float64      `json:"credits,omitempty"`
	Seconds   int           `json:"seconds"`
	Submitted time.Time     `json:"submitted"`
	GenTime   time.Duration `json:"gen_time"`
	Fail      bool          `json:"fail,omitempty"`
	Never     bool          `json:"never,omitempty"`
	Vanish    bool          `json:"vanish,omitempty"`
	Status    string        `json:"status,omitempty"`
	Legacy    bool          `json:"legacy,omitempty"`
	Request   []byte        `json:"request"` // the request's canonical hash
}

func entryOf(g *generation, key requestKey) entry {
	credits := g.credits
	return entry{ID: g.id, Model: g.model, Quirks: g.quirks, Credits: &credits, Seconds: g.seconds, Submitted: g.submitted, GenTime: g.genTime,
		Fail: g.fail, Never: g.never, Vanish: g.vanish, Status: g.status, Legacy: g.legacy, Request: key[:]}
}

func (e entry) generation() (*generation, requestKey) {
	var key requestKey
	copy(key[:], e.Request)
	g := &generation{id: e.ID, model: e.Model, quirks: e.Quirks, seconds: e.Seconds, submitted: e.Submitted, genTime: e.GenTime,
		credits:    float64(e.Seconds) * tokensPerSecond,
		directives: directives{fail: e.Fail, never: e.Never, vanish: e.Vanish, status: e.Status, legacy: e.Legacy}}
	if g.model == "" {
		g.model = "gen3a_turbo"
	}
	if e.Credits != nil {
		g.credits = *e.Credits
	}
	return g, key
}

// load replays the journal at path, if any, into s.
func (s *Server) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open simulator journal: %w", err)
	}
	defer f.Close()
	now := s.clock.Now()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A torn last line after a crash: the submit was never answered.
			s.log.Warn("skipping unreadable simulator journal line", "err", err)
			continue
		}
		g, key := e.generation()
		// Admitted at the time of the restart rather than of the submit:
		// the peak before the restart is not known, but Active must count
		// the generations still in progress.
		s.active.admit(g, s.queue, now)
		s.gens[g.id] = g
		s.submissions++
		s.byRequest[key]++
	}
	return sc.Err()
}

// record appends a generation to the journal. The write reaches the
// operating system before the submit is answered, so a killed process
// loses nothing it acknowledged.
func (s *Server) record(g *generation, key requestKey) error {
	if s.journal == nil {
		return nil
	}
	line, err := json.Marshal(entryOf(g, key))
	if err != nil {
		return err
	}
	_, err = s.journal.Write(append(line, '\n'))
	return err
}

// Close closes the journal.
func (s *Server) Close() error {
	if s.journal == nil {
		return nil
	}
	return s.journal.Close()
}
