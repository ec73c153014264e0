package local

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentCallsKeepTheirAnswers calls one function from many
// goroutines at once, as concurrent executions do: each must get its own
// answer. aws-lambda-go's handler answers with a slice of a pooled buffer,
// which a shared handler would hand to the next call while this one reads.
func TestConcurrentCallsKeepTheirAnswers(t *testing.T) {
	type in struct{ N int }
	type out struct{ Echo string }
	f := NewFunctions(map[string]any{"Echo": func(_ context.Context, v in) (out, error) {
		return out{Echo: fmt.Sprintf("answer-%04d", v.N)}, nil
	}})
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for n := range 200 {
		wg.Go(func() {
			got, err := f.Call(context.Background(), "Echo", fmt.Appendf(nil, `{"N":%d}`, n))
			if want := fmt.Sprintf(`{"Echo":"answer-%04d"}`, n); err != nil || string(got) != want+"\n" && string(got) != want {
				errs <- fmt.Errorf("call %d = %q, %v; want %s", n, got, err, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
