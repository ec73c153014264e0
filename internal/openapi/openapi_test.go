package openapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/notify/notifytest"
	"github.com/vidgen/vidgen/internal/openapi"
	"github.com/vidgen/vidgen/internal/openapi/openapitest"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/webhook"
)

func checker(t *testing.T) *openapitest.Checker {
	t.Helper()
	c, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// route is one method and path, and whether it takes a key.
type route struct {
	method, path string
	open         bool
}

func (r route) String() string {
	s := r.method + " " + r.path
	if r.open {
		s += " (no key)"
	}
	return s
}

// templateRoutes reads the HttpApi events of template.yaml: what API
// Gateway routes to the api function.
func templateRoutes(t *testing.T) []route {
	t.Helper()
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				Events map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Method string `yaml:"Method"`
						Path   string `yaml:"Path"`
						Auth   struct {
							Authorizer string `yaml:"Authorizer"`
						} `yaml:"Auth"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := samtemplate.Decode("../../template.yaml", &tmpl); err != nil {
		t.Fatal(err)
	}
	var out []route
	for _, res := range tmpl.Resources {
		for _, ev := range res.Properties.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			p := ev.Properties
			out = append(out, route{strings.ToUpper(p.Method), p.Path, p.Auth.Authorizer == "NONE"})
		}
	}
	return sorted(out)
}

// docRoutes lists the document's operations; an operation whose security
// is empty takes no key.
func docRoutes(doc *openapi3.T) []route {
	var out []route
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			open := op.Security != nil && len(*op.Security) == 0
			out = append(out, route{method, path, open})
		}
	}
	return sorted(out)
}

func sorted(rs []route) []route {
	sort.Slice(rs, func(i, j int) bool { return rs[i].String() < rs[j].String() })
	return rs
}

// The document describes exactly the routes API Gateway serves, and
// takes no key on exactly the routes the template leaves open.
func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, doc := templateRoutes(t), docRoutes(checker(t).Doc())
	if len(tmpl) == 0 {
		t.Fatal("template.yaml has no HttpApi events")
	}
	if !slices.Equal(tmpl, doc) {
		t.Errorf("template.yaml routes:\n  %v\nOpenAPI document operations:\n  %v", tmpl, doc)
	}
	if !slices.Contains(doc, route{"GET", openapi.Path, true}) {
		t.Errorf("the document does not describe itself at GET %s without a key", openapi.Path)
	}
}

// jsonNames are the JSON member names a Go type encodes, embedded structs
// flattened.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			out = append(out, jsonNames(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// Each schema has exactly the members its Go wire type encodes, so that
// neither can gain or lose a field without the other. (The contract test
// catches a member sent but not declared; this also catches one declared
// but never sent.)
func TestSchemasMatchGoTypes(t *testing.T) {
	doc := checker(t).Doc()
	schema := func(name string) *openapi3.Schema {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Fatalf("no schema %s", name)
		}
		return ref.Value
	}
	for _, tc := range []struct {
		schema  *openapi3.Schema
		name    string
		goType  any
		without []string // members of the Go type the schema leaves out on purpose
	}{
		{schema("Request.gen3a_turbo"), "Request.gen3a_turbo", vidgen.Request{}, nil},
		{schema("LegacyRequest.gen3a_turbo"), "LegacyRequest.gen3a_turbo", struct {
			vidgen.Request
			Ratio string `json:"ratio"`
		}{}, nil},
		{schema("Generation"), "Generation", vidgen.Generation{}, nil},
		{schema("Video"), "Video", vidgen.Video{}, []string{"key"}}, // API answers never show vidgen's key
		{schema("WebhookVideo"), "WebhookVideo", vidgen.Video{}, nil},
		{schema("JobError"), "JobError", vidgen.Error{}, nil},
		{schema("ETA"), "ETA", vidgen.ETA{}, nil},
		{schema("Meta"), "Meta", vidgen.Meta{}, nil},
		{schema("Meta").Properties["usage"].Value, "Meta.usage", vidgen.Usage{}, nil},
		{schema("Page"), "Page", vidgen.Page{}, nil},
		{schema("Spend"), "Spend", vidgen.Spend{}, nil},
		{schema("SpendCapDetail"), "SpendCapDetail", vidgen.SpendCapDetail{}, nil},
		{schema("ErrorResponse"), "ErrorResponse", vidgen.ErrorResponse{}, nil},
		{schema("ErrorResponse").Properties["error"].Value, "ErrorResponse.error", vidgen.ErrorDetail{}, nil},
		{schema("FieldError"), "FieldError", vidgen.FieldError{}, nil},
		{schema("WebhookPayload"), "WebhookPayload", webhook.Payload{}, nil},
		// What notify sends; webhook.Job, which embeds Generation, also
		// decodes progress fields no webhook carries.
		{schema("WebhookJob"), "WebhookJob", notify.Detail{}, nil},
		{schema("RequestSummary"), "RequestSummary", webhook.RequestSummary{}, nil},
		{schema("ModelList"), "ModelList", vidgen.ModelList{}, nil},
		{schema("Model"), "Model", vidgen.Model{}, nil},
		{schema("Model").Properties["info"].Value, "Model.info", vidgen.ModelInfo{}, nil},
		{schema("Model").Properties["modalities"].Value, "Model.modalities", vidgen.Modalities{}, nil},
	} {
		var props []string
		for p := range tc.schema.Properties {
			props = append(props, p)
		}
		want := slices.DeleteFunc(jsonNames(reflect.TypeOf(tc.goType)), func(n string) bool { return slices.Contains(tc.without, n) })
		slices.Sort(props)
		slices.Sort(want)
		if !slices.Equal(props, want) {
			t.Errorf("schema %s has properties %v; %T encodes %v", tc.name, props, tc.goType, want)
		}
	}
}

// What notify delivers to a callback_url is what the document's webhooks
// describe: the body is a WebhookPayload and the Standard Webhooks headers
// match their parameters, for a completed and a failed job.
func TestWebhookPayloads(t *testing.T) {
	c := checker(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	secrets := notify.DerivedSecrets{Master: []byte("0123456789abcdef0123456789abcdef")}
	seconds, credits, seed := 5.0, 42.0, int64(7)
	req := job.Request{Model: job.Model, Prompt: "a calm sea", ImageURL: "https://example.com/a.jpg?token=x", TailImageURL: "https://example.com/b.jpg",
		Duration: 5, AspectRatio: "16:9", Seed: &seed}
	for _, j := range []job.Job{
		{ID: "j1", Tenant: "tenantA", Status: job.Completed, Request: req, CreditsUsed: &credits,
			Video:     &job.Video{URL: "https://cdn.example.com/v.mp4", Duration: &seconds, Key: "videos/j1.mp4"},
			CreatedAt: at.Add(-time.Minute), UpdatedAt: at},
		{ID: "j2", Tenant: "tenantA", Status: job.Failed, Request: job.Request{Model: job.Model, ImageURL: "data:image/png;base64,AAAA", Duration: 10, AspectRatio: "9:16"},
			Error:     &job.Error{Name: job.ErrNameCancelled, Message: "cancelled by the client"},
			CreatedAt: at.Add(-time.Minute), UpdatedAt: at},
	} {
		d := notifytest.Deliver(t, secrets, at, j)
		if err := c.CheckSchema("WebhookPayload", d.Body); err != nil {
			t.Errorf("job %s: %v", j.ID, err)
		}
		var p webhook.Payload
		if err := json.Unmarshal(d.Body, &p); err != nil {
			t.Fatal(err)
		}
		hook := c.Doc().Webhooks[p.Type]
		if hook == nil || hook.Post == nil {
			t.Errorf("job %s: webhook type %q is not among the document's webhooks", j.ID, p.Type)
			continue
		}
		for _, param := range hook.Post.Parameters {
			v := d.Header.Get(param.Value.Name)
			if v == "" && param.Value.Required {
				t.Errorf("job %s: no %s header", j.ID, param.Value.Name)
				continue
			}
			if err := param.Value.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("job %s: header %s: %q: %v", j.ID, param.Value.Name, v, err)
			}
		}
	}
}

// The embedded gzip is openapi.json: the file to edit is the one served.
// It runs after TestRequestSchemas (file order), so that -update rewrites
// the schemas and then the gzip.
func TestDocumentGzip(t *testing.T) {
	doc, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(openapi.Document(), doc) {
		return
	}
	if !*update {
		t.Fatal("openapi.json.gz is not openapi.json; run go test ./internal/openapi -update")
	}
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(doc); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("openapi.json.gz", b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
