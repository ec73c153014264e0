package costsim

import (
	"context"
	"reflect"
	"sync"
	"testing"
)

// TestConcurrentRunsAgree: make bench runs its simulations side by side;
// runs at the same time as others, a manifest batch among them, give the
// figures each gives alone.
func TestConcurrentRunsAgree(t *testing.T) {
	cfgs := []Config{ManifestConfig(30, 25, "../../template.yaml", ""), SinglesConfig(30, "../../template.yaml", "")}
	run := func(cfg Config) Result {
		cfg.Dir = t.TempDir()
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Error(err)
		}
		return res
	}
	alone := make([]Result, len(cfgs))
	for i := range alone {
		alone[i] = run(cfgs[i])
	}
	together := make([]Result, 2*len(cfgs)) // each twice
	var wg sync.WaitGroup
	for i := range together {
		wg.Go(func() { together[i] = run(cfgs[i%len(cfgs)]) })
	}
	wg.Wait()
	for i := range together {
		if !reflect.DeepEqual(alone[i%len(cfgs)], together[i]) {
			t.Errorf("run %d differs side by side:\n%+v\n%+v", i, alone[i%len(cfgs)].Usage, together[i].Usage)
		}
	}
}
