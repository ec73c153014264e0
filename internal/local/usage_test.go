package local

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

// Usage names every variable ConfigFromEnv reads, so that -h cannot fall
// behind the configuration.
func TestUsageNamesEveryVariable(t *testing.T) {
	read := map[string]bool{logs.EnvLevel: true}
	if _, err := ConfigFromEnv(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	for name := range read {
		if !strings.Contains(Usage, name+" ") {
			t.Errorf("Usage does not name %s", name)
		}
	}
	var out bytes.Buffer
	for _, h := range []string{"-h", "--help"} {
		out.Reset()
		if !Help([]string{h}, &out) || out.String() != Usage {
			t.Errorf("Help(%s) did not write the usage", h)
		}
	}
	if Help(nil, &out) || Help([]string{"run"}, &out) {
		t.Error("Help answered without being asked")
	}
}

// The tenants of direct starts (steps.DefaultTenant) and of the
// template's batch schedule (BatchTenant) have keys by default, so their
// jobs can be queried over HTTP like any other.
func TestDefaultKeysCoverWorkflowAndBatchTenants(t *testing.T) {
	pairs, err := apikey.ParsePairs(DefaultKeys)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tenants := map[string]bool{}
	for _, p := range pairs {
		tenants[p.Tenant] = true
	}
	for _, want := range []string{steps.DefaultTenant, tmpl.Parameters["BatchTenant"]} {
		if want == "" || !tenants[want] {
			t.Errorf("DefaultKeys %q has no key for tenant %q", DefaultKeys, want)
		}
	}
}

// VIDGEN_SIM_QUIRKS forces the simulator's answer shapes; a name it does
// not know stops the start.
func TestSimQuirksFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "VIDGEN_SIM_QUIRKS" {
				return v
			}
			return ""
		}
	}
	c, err := ConfigFromEnv(env("succeeded, error_detail"))
	if err != nil || c.SimQuirks != simulator.QuirkSucceeded|simulator.QuirkErrorDetail {
		t.Errorf("SimQuirks = %v, %v; want succeeded,error_detail", c.SimQuirks, err)
	}
	if _, err := ConfigFromEnv(env("succeded")); err == nil || !strings.Contains(err.Error(), "VIDGEN_SIM_QUIRKS") {
		t.Errorf("misspelt quirk: err = %v", err)
	}
}
