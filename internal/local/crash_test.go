package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/simulator"
)

// TestCrashRecovery runs vidgen-local as a real process with over a hundred
// jobs in flight, kills it with SIGKILL twice, restarts it each time, and
// checks that every job ends and that no request reached the upstream twice.
// The upstream is the simulator in its own process, as a real upstream would
// outlive our crash.
func TestCrashRecovery(t *testing.T) {
	const (
		jobs    = 120
		crashes = 2
		simKey  = "crash-test-upstream-key"
	)
	bin := t.TempDir()
	build(t, bin, "vidgen-local", "aimlapi-sim")
	root, _ := filepath.Abs(filepath.Join("..", ".."))

	simAddr := freeAddr(t)
	sim := startProcess(t, exec.Command(filepath.Join(bin, "aimlapi-sim"),
		"-addr", simAddr, "-key", simKey, "-queue", "500ms", "-generation", "3s"))
	defer stopProcess(sim)
	waitHTTP(t, "http://"+simAddr+"/health")

	addr := freeAddr(t)
	base := "http://" + addr
	env := append(os.Environ(),
		"VIDGEN_ADDR="+addr, "VIDGEN_API_KEYS=tenantA:"+keyA, "VIDGEN_DATA_DIR="+t.TempDir(),
		"VIDGEN_TEMPLATE="+filepath.Join(root, "template.yaml"), "VIDGEN_TIME_SCALE=20",
		"AIMLAPI_KEY="+simKey, "AIMLAPI_BASE_URL=http://"+simAddr)
	runVidgen := func() *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, "vidgen-local"))
		cmd.Env = env
		p := startProcess(t, cmd)
		waitHTTP(t, base+api.PathGenerations)
		return p
	}

	vidgen := runVidgen()
	ids := make([]string, jobs)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/%d.jpg","prompt":"crash job %d"}`, i, i)
			ids[i] = submitID(t, base, body)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Crash right after the burst (jobs are submitting and waiting), then
	// again once some are generating or done.
	for crash := 1; crash <= crashes; crash++ {
		if crash > 1 {
			waitFor(t, func() bool { return countStatuses(t, base, ids)["queued"] < jobs/2 })
		}
		stopProcess(vidgen)
		vidgen = runVidgen()
	}
	defer stopProcess(vidgen)

	var counts map[string]int
	waitFor(t, func() bool {
		counts = countStatuses(t, base, ids)
		return counts["queued"]+counts["generating"] == 0
	})
	stats := simStats(t, "http://"+simAddr, simKey)
	errorsByName := errorNames(t, base, ids)
	t.Logf("crash test: jobs %d, crashes %d, completed %d, error %d %v, lost 0, stuck 0, upstream submissions %d, duplicate submissions %d",
		jobs, crashes, counts["completed"], counts["error"], errorsByName, stats.Submissions, stats.Duplicated)
	if stats.Duplicated != 0 || stats.Submissions > jobs {
		t.Fatalf("upstream saw duplicates: %+v", stats)
	}
	if counts["completed"]+counts["error"] != jobs {
		t.Fatalf("not every job ended: %v", counts)
	}
	for name := range errorsByName {
		if name != "SubmitOutcomeUnknown" {
			t.Fatalf("a crash may only end a job whose submit was cut off; got %v", errorsByName)
		}
	}
	if stats.Submissions < counts["completed"] {
		t.Fatalf("%d jobs completed with only %d submissions", counts["completed"], stats.Submissions)
	}
}

func build(t *testing.T, dir string, commands ...string) {
	t.Helper()
	for _, c := range commands {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, c), "./cmd/"+c)
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProcess(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// stopProcess kills with SIGKILL: no shutdown code runs, as in a crash.
func stopProcess(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// waitFor polls cond until it holds, failing after a bound that no healthy
// run comes near; it waits on observed state, not on elapsed time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 3 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	waitFor(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

func submitID(t *testing.T, base, body string) string {
	req, _ := http.NewRequest("POST", base+api.PathGenerations, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Errorf("submit: status %d", resp.StatusCode)
	}
	return out.ID
}

func getJob(t *testing.T, base, id string) map[string]any {
	req, _ := http.NewRequest("GET", base+api.PathGenerations+"?generation_id="+id, nil)
	req.Header.Set("Authorization", "Bearer "+keyA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("query %s: status %d", id, resp.StatusCode)
	}
	return out
}

func countStatuses(t *testing.T, base string, ids []string) map[string]int {
	counts := map[string]int{}
	for _, id := range ids {
		counts[getJob(t, base, id)["status"].(string)]++
	}
	return counts
}

func errorNames(t *testing.T, base string, ids []string) map[string]int {
	names := map[string]int{}
	for _, id := range ids {
		if e, ok := getJob(t, base, id)["error"].(map[string]any); ok {
			names[e["name"].(string)]++
		}
	}
	return names
}

func simStats(t *testing.T, base, key string) simulator.Stats {
	req, _ := http.NewRequestWithContext(context.Background(), "GET", base+"/stats", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st simulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
