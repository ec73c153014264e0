package simulator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/plainjson"
)

// The videos completed generations serve, one per duration a request may
// ask for: ffmpeg's test pattern, 320x180, H.264 Constrained Baseline,
// moov before mdat. They were made once (ffmpeg is not needed to build or
// test) with the command in sample.mp4.txt, changing only -t.
var (
	//go:embed sample-5s.mp4
	sample5s string // strings, so that nothing can modify them
	//go:embed sample-10s.mp4
	sample10s string
)

// sampleVideo is the video of a generation of seconds: as long as the
// request asked for when that is 5 or 10 s (gen3a_turbo's two durations),
// else the 5-s one; the answer still reports the duration asked for.
func sampleVideo(seconds int) string {
	if seconds == 10 {
		return sample10s
	}
	return sample5s
}

// Defaults of Config.
const (
	DefaultQueueTime      = 3 * time.Second
	DefaultGenerationTime = 25 * time.Second
)

const (
	// maxRequestBody leaves room for a 4 MiB data-URI image in base64 plus
	// the other fields; vidgen enforces the exact limits.
	maxRequestBody = 8 << 20
	// tokensPerSecond is what generations journaled before the simulator
	// knew models report as used per second of video (gen3a_turbo's rate).
	tokensPerSecond = 100_000
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Key is the bearer key clients must send; "" accepts any non-empty key.
	Key string
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// QueueTime is how long a generation reports "queued" after the submit;
	// 0 means DefaultQueueTime and a negative value means no queueing.
	QueueTime time.Duration
	// GenerationTime is how long a 5-second gen3a_turbo video then reports
	// "generating"; 0 means DefaultGenerationTime. Every model's time is
	// its catalogue prior for the clip's duration scaled alike (prior ×
	// GenerationTime / DefaultGenerationTime): a 10-second gen3a_turbo
	// video takes 1.8 times as long, a 5-second Kling master one 13.2.
	GenerationTime time.Duration
	// Quirks are served for every generation, beside its model's own.
	Quirks Quirks
	// NoModelQuirks answers every model in the documented shapes unless
	// Quirks or a sim:quirk directive says otherwise.
	NoModelQuirks bool
	// MaxActive, if above 0, is how many generations may be in progress at
	// once: a submit beyond it answers 429 with Retry-After, as a provider
	// protecting its capacity does. Burst benchmarks run against it.
	MaxActive int
	// PublicURL is the base of video URLs; "" derives it from each poll's
	// Host header (http://host).
	PublicURL string
	// VideoURLTTL is how long a video URL stays valid, on Clock, from the
	// poll answer that handed it out; 0 or less means DefaultVideoURLTTL.
	// Like the upstream's signed CDN links, every poll of a completed
	// generation hands out a fresh URL, and the file route refuses an
	// expired or forged one with 403 (see the package documentation).
	VideoURLTTL time.Duration
	// Log defaults to discarding.
	Log *slog.Logger
	// Journal, when set, is a file where accepted generations are kept, so
	// polls and videos keep working after a restart. New then can fail;
	// use Open. The key video URLs are signed with is kept beside it, in
	// Journal+".key" (mode 0600), so links handed out before a restart stay
	// valid until they expire; without a journal the key is random per
	// Server.
	Journal string
}

// Endpoint names what a fault is injected into.
type Endpoint int

// Endpoints. Each covers both the current and the legacy route.
const (
	SubmitEndpoint Endpoint = iota + 1
	PollEndpoint
)

func (e Endpoint) String() string {
	switch e {
	case SubmitEndpoint:
		return "submit"
	case PollEndpoint:
		return "poll"
	}
	return "Endpoint(" + strconv.Itoa(int(e)) + ")"
}

// Fault spoils the answer to one request. Delay combines with any other
// field; otherwise Reset wins over Status, Status over Malformed, and
// Malformed over Truncated. A Fault with only Delay set answers normally,
// late.
type Fault struct {
	Status      int           // answer with this HTTP status and a JSON error body (e.g. 429, 500, 503)
	RetryAfter  string        // Retry-After header value to send with Status
	Delay       time.Duration // real delay before answering (returns early if the request context ends)
	Reset       bool          // hijack the connection and close it without answering
	Malformed   bool          // 200 with a body that is not JSON
	Truncated   bool          // 200 whose Content-Length exceeds the bytes sent
	AfterAccept bool          // handle the request first (a submit is accepted and counted), then apply the fault
}

// Server is the simulated upstream. It is safe for concurrent use.
type Server struct {
	clock     clock.Clock
	queue     time.Duration
	gen       time.Duration
	publicURL string
	videoTTL  time.Duration
	log       *slog.Logger
	mux       *http.ServeMux

	// catalog validates requests and gives each model's prior; profiles
	// its quirks and credits. modelsErr is why they could not be read
	// (embedded data that does not parse), answered to every submit.
	catalog       *catalog.Catalog
	profiles      *profiles
	modelsErr     error
	quirks        Quirks
	noModelQuirks bool

	journal *os.File // nil without Config.Journal

	maxActive int

	signingKey []byte // of video URLs; set before the Server serves and never changed

	mu          sync.Mutex
	key         string // see SetKey
	gens        map[string]*generation
	active      inProgress
	submissions int
	throttled   int                // submits refused at maxActive
	byRequest   map[requestKey]int // accepted submits of each distinct request
	faults      map[Endpoint][]Fault
}

// New returns a Server configured by cfg.
func New(cfg Config) *Server {
	s := &Server{
		key:        cfg.Key,
		clock:      cfg.Clock,
		queue:      cfg.QueueTime,
		gen:        cfg.GenerationTime,
		publicURL:  strings.TrimSuffix(cfg.PublicURL, "/"),
		videoTTL:   cfg.VideoURLTTL,
		maxActive:  cfg.MaxActive,
		log:        cfg.Log,
		mux:        http.NewServeMux(),
		signingKey: newSigningKey(),
		gens:       make(map[string]*generation),
		byRequest:  make(map[requestKey]int),
		faults:     make(map[Endpoint][]Fault),

		quirks:        cfg.Quirks,
		noModelQuirks: cfg.NoModelQuirks,
	}
	s.catalog, s.modelsErr = catalog.Builtin()
	if s.modelsErr == nil {
		s.profiles, s.modelsErr = parseProfiles(profilesJSON)
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	switch {
	case s.queue == 0:
		s.queue = DefaultQueueTime
	case s.queue < 0:
		s.queue = 0
	}
	if s.gen <= 0 {
		s.gen = DefaultGenerationTime
	}
	if s.videoTTL <= 0 {
		s.videoTTL = DefaultVideoURLTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, route := range []struct {
		path   string
		legacy bool
	}{
		{"/v2/video/generations", false},
		{"/v2/generate/video/runway/generation", true},
	} {
		s.mux.Handle("POST "+route.path, s.endpoint(SubmitEndpoint, s.submitter(route.legacy)))
		s.mux.Handle("GET "+route.path, s.endpoint(PollEndpoint, s.poll))
	}
	s.mux.HandleFunc("GET /files/{file}", s.serveFile)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authorize(r); !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"name": "Unauthorized", "message": "bearer key required"}})
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
	})
	return s
}

// Open is New with the journal at cfg.Journal loaded and opened for
// appending, and the signing key kept beside it loaded or created.
func Open(cfg Config) (*Server, error) {
	s := New(cfg)
	if cfg.Journal == "" {
		return s, nil
	}
	key, err := s.loadKey(keyPath(cfg.Journal))
	if err != nil {
		return nil, err
	}
	s.signingKey = key
	if err := s.load(cfg.Journal); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(cfg.Journal, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open simulator journal: %w", err)
	}
	s.journal = f
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Submissions reports how many submits were accepted in total.
func (s *Server) Submissions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.submissions
}

// SubmissionsOf reports how many accepted submits carried a request
// identical to req (its JSON, the upstream body) once validated, with the
// model's defaults filled in.
func (s *Server) SubmissionsOf(req job.Request) int {
	b, err := json.Marshal(req)
	if err != nil || s.modelsErr != nil {
		return 0
	}
	m, body, problems := s.catalog.Validate(b)
	if len(problems) > 0 {
		return 0
	}
	key, err := canonical(m, body)
	if err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byRequest[key]
}

// Stats sums up what the simulator has seen; tests of separate processes
// read it from GET /stats.
//
// A generation is active, or in progress, from its accept until it
// completes or fails by the simulated clock, whether or not anyone has
// polled it since: a client notices the end only at its next poll, so the
// generations a client such as vidgen has in flight are never fewer than
// Active. sim:never generations stay active for good; sim:vanish ones are
// never active, as they answer 404 from the start.
type Stats struct {
	Submissions int `json:"submissions"`
	// Requests counts distinct requests accepted; Duplicated counts those
	// accepted more than once.
	Requests   int `json:"requests"`
	Duplicated int `json:"duplicated"`
	// Active counts the generations active now; PeakActive the most that
	// were active at the same moment since the Server started. After a
	// restart from the journal, the peak starts over from the generations
	// still active then.
	Active     int `json:"active"`
	PeakActive int `json:"peak_active"`
	// Throttled counts submits refused because MaxActive were in progress.
	Throttled int `json:"throttled"`
}

// Stats reports the submission counts and the active generations.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active.prune(s.clock.Now())
	st := Stats{Submissions: s.submissions, Requests: len(s.byRequest),
		Active: s.active.count(), PeakActive: s.active.peak, Throttled: s.throttled}
	for _, n := range s.byRequest {
		if n > 1 {
			st.Duplicated++
		}
	}
	return st
}

// Inject queues faults for the next requests to e, one per request, in order.
func (s *Server) Inject(e Endpoint, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[e] = append(s.faults[e], faults...)
}

func (s *Server) takeFault(e Endpoint) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[e]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	s.faults[e] = q[1:]
	return f, true
}

// requestKey identifies identical requests: the hash of their canonical
// JSON. Hashing keeps the count small when requests carry data-URI images
// of megabytes.
type requestKey [sha256.Size]byte

// canonical is the key of a validated body: with the model's defaults in
// place of absent or null top-level members (what the upstream generates
// is the same), numbers in one spelling (5 and 5.0 alike) and members in
// sorted order, as encoding/json writes a map's.
func canonical(m *catalog.Model, body map[string]any) (requestKey, error) {
	full := make(map[string]any, len(body))
	for name, p := range m.Schema.Properties {
		if p.Default != nil {
			full[name] = p.Default
		}
	}
	for name, v := range body {
		if v != nil || full[name] == nil {
			full[name] = v
		}
	}
	b, err := json.Marshal(full)
	if err != nil {
		return requestKey{}, fmt.Errorf("encode request: %w", err)
	}
	// Decoded without UseNumber, every number is a float64 and encodes in
	// its shortest form.
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return requestKey{}, fmt.Errorf("encode request: %w", err)
	}
	if b, err = json.Marshal(plain); err != nil {
		return requestKey{}, fmt.Errorf("encode request: %w", err)
	}
	return sha256.Sum256(b), nil
}

// answer is what a route would say when nothing goes wrong.
type answer struct {
	status int
	header http.Header
	body   any
}

// request is what a route handles: the request and its body, read in full
// up front so that net/http notices a client that hangs up during a Delay.
type request struct {
	*http.Request
	body    []byte
	readErr error
}

// endpoint wraps a route with fault injection.
func (s *Server) endpoint(e Endpoint, handle func(request) answer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
		req := request{Request: r, body: body, readErr: err}
		f, faulty := s.takeFault(e)
		if !faulty {
			handle(req).write(w)
			return
		}
		s.log.Info("injecting fault", "endpoint", e, "fault", fmt.Sprintf("%+v", f))
		if !f.AfterAccept {
			if !delay(r.Context(), f.Delay) {
				return
			}
			if f.Reset || f.Status != 0 || f.Malformed || f.Truncated {
				// Struck before the request was looked at, so the answer a
				// Truncated fault cuts is a stand-in.
				s.spoil(w, f, answer{status: http.StatusOK, body: created{ID: newID(), Status: string(job.Queued)}})
				return
			}
			handle(req).write(w)
			return
		}
		a := handle(req)
		if !delay(r.Context(), f.Delay) {
			return
		}
		s.spoil(w, f, a)
	})
}

// delay waits for d and reports whether the client is still there.
func delay(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false // the client gave up; nobody is left to answer
	}
}

// spoil answers as f says, using a as the answer a fault cuts short or
// leaves alone.
func (s *Server) spoil(w http.ResponseWriter, f Fault, a answer) {
	switch {
	case f.Reset:
		s.reset(w)
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(w, f.Status, errorName(f.Status), "simulated fault: "+http.StatusText(f.Status))
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<html><body>502 Bad Gateway</body></html>\n")
	case f.Truncated:
		body := marshal(a.body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		// Having declared more than it writes, the server closes the
		// connection when the handler returns, and the client reads a
		// body that ends early.
		w.Write(body[:len(body)/2])
	default:
		a.write(w)
	}
}

// reset drops the connection without a word. A zero linger makes the kernel
// send RST rather than FIN, like a crashing proxy would.
func (s *Server) reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.log.Error("cannot hijack connection for a reset fault", "err", err)
		panic(http.ErrAbortHandler) // the next best thing: net/http drops the connection
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

func errorName(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "RateLimitError"
	case status >= 500:
		return "ServiceUnavailable"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

func (s *Server) submitter(legacy bool) func(request) answer {
	return func(r request) answer {
		if a, ok := s.authorize(r.Request); !ok {
			return a
		}
		if err := r.readErr; err != nil {
			if maxErr, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return errorAnswer(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
					fmt.Sprintf("request body exceeds %d bytes", maxErr.Limit))
			}
			return errorAnswer(http.StatusBadRequest, "BadRequest", "cannot read request body")
		}
		if s.modelsErr != nil {
			s.log.Error("simulator has no model catalogue", "err", s.modelsErr)
			return errorAnswer(http.StatusInternalServerError, "InternalError", "the model catalogue is unavailable")
		}
		m, body, problems := s.validate(r.body, legacy)
		if len(problems) > 0 {
			q := s.quirks
			if m != nil {
				// A refused body's directives still say how to refuse it.
				var v struct {
					Prompt string `json:"prompt"`
				}
				json.Unmarshal(r.body, &v) // a prompt that is no string has no directives
				q = s.quirksOf(m, v.Prompt)
			}
			return validationAnswer(problems, q)
		}
		g := s.accept(m, body)
		if g == nil {
			a := errorAnswer(http.StatusTooManyRequests, "TooManyRequests",
				fmt.Sprintf("at most %d generations may be in progress at once", s.maxActive))
			a.header = http.Header{"Retry-After": {throttleRetryAfter}}
			return a
		}
		return answer{status: http.StatusOK, body: g.created()}
	}
}

// validate checks a submit's body through the model catalogue, as vidgen
// does. The legacy route takes "ratio" for "aspect_ratio" in the models
// vidgen does (catalog.Model.RatioAlias), and problems with it name the
// field the client sent.
func (s *Server) validate(raw []byte, legacy bool) (*catalog.Model, map[string]any, []catalog.FieldError) {
	m, body, problems := s.catalog.Validate(raw)
	if !legacy || slices.ContainsFunc(problems, func(p catalog.FieldError) bool { return p.Field == "body" }) {
		return m, body, problems
	}
	if m != nil && !m.RatioAlias() {
		return m, body, problems // its ratio is its own
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return m, body, problems
	}
	ratio, ok := fields["ratio"]
	if !ok {
		return m, body, problems
	}
	delete(fields, "ratio")
	prev, both := fields["aspect_ratio"]
	both = both && string(prev) != "null" && string(ratio) != "null"
	// A null ratio asks for the default: it is dropped.
	moved := !both && string(ratio) != "null"
	if moved {
		fields["aspect_ratio"] = ratio
	}
	renamed, err := json.Marshal(fields)
	if err != nil {
		return m, body, problems
	}
	// A member given twice at the top is one member of fields: its
	// problem, the first check's, is kept (members of members keep
	// theirs, being raw).
	var dups []catalog.FieldError
	for _, p := range problems {
		if p.Message == catalog.DuplicateMessage && !strings.ContainsAny(p.Field, ".[") {
			dups = append(dups, p)
		}
	}
	m, body, problems = s.catalog.Validate(renamed)
	if len(dups) > 0 {
		body, problems = nil, append(dups, problems...)
	}
	if both {
		// The rest is still checked, so that every problem is named at once.
		return m, nil, append(problems, catalog.FieldError{Field: "ratio", Message: "give either ratio or aspect_ratio, not both"})
	}
	for i := range problems {
		if moved && problems[i].Field == "aspect_ratio" {
			problems[i].Field = "ratio"
		}
	}
	return m, body, problems
}

// validationAnswer is the 400 refusing a request, naming every bad field:
// in error.fields beside a message, or with QuirkErrorDetail as detail[].
func validationAnswer(problems []catalog.FieldError, q Quirks) answer {
	slices.SortStableFunc(problems, func(a, b catalog.FieldError) int { return strings.Compare(a.Field, b.Field) })
	if q&QuirkErrorDetail != 0 {
		details := make([]detail, len(problems))
		for i, p := range problems {
			details[i] = detail{Loc: location(p.Field), Msg: p.Message, Type: "value_error"}
		}
		return answer{status: http.StatusBadRequest, body: map[string]any{"error": map[string]any{"name": "ValidationError", "detail": details}}}
	}
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return answer{status: http.StatusBadRequest, body: map[string]apiError{"error": {Name: "ValidationError",
		Message: "invalid request: " + strings.Join(parts, "; "), Fields: problems}}}
}

// location is a field path as a detail's loc: "elements[1].url" is
// ["body", "elements", 1, "url"].
func location(field string) []any {
	loc := []any{"body"}
	for part := range strings.SplitSeq(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			loc = append(loc, name)
		}
		for rest != "" {
			var idx string
			idx, rest, _ = strings.Cut(rest, "]")
			if n, err := strconv.Atoi(idx); err == nil {
				loc = append(loc, n)
			} else {
				loc = append(loc, idx)
			}
			rest = strings.TrimPrefix(rest, "[")
		}
	}
	return loc
}

// promptOf is a validated body's prompt, where sim: directives are: ""
// for a model that takes none.
func promptOf(body map[string]any) string {
	p, _ := body["prompt"].(string)
	return p
}

// quirksOf is the quirks a generation of m is served in, given its prompt.
func (s *Server) quirksOf(m *catalog.Model, prompt string) Quirks {
	d, _ := parseDirectives(prompt)
	q := s.quirks | d.quirks
	if !s.noModelQuirks && !d.plain {
		q |= s.profiles.of(m).quirks
	}
	return q
}

// throttleRetryAfter is the Retry-After of a submit refused at MaxActive.
const throttleRetryAfter = "5"

// accept records a new generation of model m and counts the submit; nil
// when MaxActive generations are in progress.
func (s *Server) accept(m *catalog.Model, body map[string]any) *generation {
	prompt := promptOf(body)
	d, unknown := parseDirectives(prompt)
	for _, word := range unknown {
		s.log.Warn("ignoring unknown simulator directive", "directive", word)
	}
	seconds := m.Duration(body)
	g := &generation{id: newID(), model: m.ID, seconds: seconds, directives: d, genTime: d.gen,
		quirks:  s.quirksOf(m, prompt),
		credits: s.profiles.of(m).creditsPerSecond * float64(seconds)}
	if g.genTime == 0 {
		g.genTime = scale(m.PriorFor(seconds), s.gen)
	}
	key, err := canonical(m, body)
	if err != nil {
		// A validated request always marshals; count it under no key.
		s.log.Error("cannot encode request", "err", err)
	}
	s.mu.Lock()
	// Read under the lock, so that concurrent accepts are stamped in the
	// order they are counted and each count is of a single moment.
	g.submitted = s.clock.Now()
	if s.maxActive > 0 {
		if s.active.prune(g.submitted); s.active.count() >= s.maxActive {
			s.throttled++
			s.mu.Unlock()
			return nil
		}
	}
	s.active.admit(g, s.queue, g.submitted)
	s.gens[g.id] = g
	s.submissions++
	if err == nil {
		s.byRequest[key]++
	}
	if jerr := s.record(g, key); jerr != nil {
		s.log.Error("cannot journal generation", "id", g.id, "err", jerr)
	}
	s.mu.Unlock()
	s.log.Info("generation accepted", "id", g.id, "model", g.model, "duration", seconds,
		"generation_time", g.genTime, "quirks", g.quirks.String())
	return g
}

// Ended reports when the generation with the upstream id ends (completes
// or fails) on the simulator's clock; ok is false for an unknown id or one
// that never ends. Benchmarks measure how late vidgen notices against it.
func (s *Server) Ended(id string) (at time.Time, ok bool) {
	g, found := s.lookup(id)
	if !found {
		return time.Time{}, false
	}
	return g.ends(s.queue)
}

func (s *Server) lookup(id string) (*generation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gens[id]
	return g, ok
}

func (s *Server) poll(r request) answer {
	if a, ok := s.authorize(r.Request); !ok {
		return a
	}
	id := r.URL.Query().Get("generation_id")
	if id == "" {
		return validationAnswer([]catalog.FieldError{{Field: "generation_id", Message: "is required"}}, s.quirks)
	}
	g, ok := s.lookup(id)
	if !ok || g.vanish {
		return errorAnswer(http.StatusNotFound, "NotFound", "generation not found")
	}
	p := s.phase(g)
	var videoURL string
	if p == completed {
		videoURL = s.videoURL(s.baseURL(r.Request), g.id)
	}
	return answer{status: http.StatusOK, body: g.report(p, videoURL)}
}

func (s *Server) phase(g *generation) phase {
	now := s.clock.Now()
	end, finite := g.ends(s.queue)
	switch {
	case now.Before(g.submitted.Add(s.queue)):
		return queued
	case !finite || now.Before(end):
		return generating
	case g.fail:
		return failed
	}
	return completed
}

func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveFile serves the sample video for completed generations only, with
// Range support so players can seek. As a CDN does, it first refuses with
// 403 a link that is unsigned, forged or expired, whatever it points at.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".mp4")
	if !ok {
		// Links are signed for ID.mp4 only: any other name is a forgery,
		// even with the query of a genuine link.
		s.deny(w, &linkError{message: "Access Denied"})
		return
	}
	if err := s.checkLink(id, r.URL.Query()); err != nil {
		s.deny(w, err)
		return
	}
	g, found := s.lookup(id)
	if !found || g.vanish || s.phase(g) != completed {
		writeError(w, http.StatusNotFound, "NotFound", "no such video")
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, id+".mp4", time.Time{}, strings.NewReader(sampleVideo(g.seconds)))
}

// SetKey changes the bearer key clients must send from now on ("" accepts
// any non-empty key), as an operator rotating or revoking the key at the
// upstream does: a client still sending the old one is refused with 401.
func (s *Server) SetKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// authorize checks the bearer key. The key is compared in constant time and
// never logged.
func (s *Server) authorize(r *http.Request) (answer, bool) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	got = strings.TrimSpace(got)
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	switch {
	case !ok || got == "":
		return errorAnswer(http.StatusUnauthorized, "Unauthorized", "missing bearer key"), false
	case key != "" && subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1:
		return errorAnswer(http.StatusUnauthorized, "Unauthorized", "invalid API key"), false
	}
	return answer{}, true
}

type apiError struct {
	Name    string               `json:"name"`
	Message string               `json:"message"`
	Fields  []catalog.FieldError `json:"fields,omitempty"`
}

func errorAnswer(status int, name, message string) answer {
	a := answer{status: status, body: map[string]apiError{"error": {Name: name, Message: message}}}
	if status == http.StatusUnauthorized {
		a.header = http.Header{"Www-Authenticate": {"Bearer"}}
	}
	return a
}

func writeError(w http.ResponseWriter, status int, name, message string) {
	errorAnswer(status, name, message).write(w)
}

func (a answer) write(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	writeJSON(w, a.status, a.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(marshal(v))
}

// marshal encodes v as a line of JSON. Like most servers it leaves <, >
// and & alone, so the & of a video URL's query reads as such.
func marshal(v any) []byte {
	b, err := plainjson.Marshal(v)
	if err != nil {
		// Every body here is built from plain strings and numbers.
		panic(fmt.Sprintf("simulator: encode response: %v", err))
	}
	return append(b, '\n')
}

// newID returns a random UUID version 4.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
