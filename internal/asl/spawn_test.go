package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// TestMapOnEventsClock: on a discrete-event clock a Map's iterations run
// as the clock's processes, MaxConcurrency at a time, in simulated time:
// seven 10-s items three at a time take 30 s, start in item order, and
// every state entered in them is reported to Entered.
func TestMapOnEventsClock(t *testing.T) {
	for _, tt := range []struct {
		name, def string
		items     int
		want      time.Duration
	}{
		{"distributed three at a time", distributed(`"ItemsPath":"$.xs","MaxConcurrency":3,`,
			`"P":{"Type":"Task","Resource":"r","Next":"Q"},"Q":{"Type":"Pass","End":true}`), 7, 30 * time.Second},
		{"inline unbounded", inline(`"ItemsPath":"$.xs",`,
			`"P":{"Type":"Task","Resource":"r","Next":"Q"},"Q":{"Type":"Pass","End":true}`), 7, 10 * time.Second},
		{"no items", distributed(`"ItemsPath":"$.xs","MaxConcurrency":3,`,
			`"P":{"Type":"Task","Resource":"r","Next":"Q"},"Q":{"Type":"Pass","End":true}`), 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewEvents(t0)
			var started []int
			inv := invokerFunc(func(ctx context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
				var x int
				if err := json.Unmarshal(in, &x); err != nil {
					return nil, err
				}
				started = append(started, x)
				return in, clk.Sleep(ctx, 10*time.Second)
			})
			entered := map[string]int{}
			opts := Options{Clock: clk, Invoker: inv, Entered: func(_, state string) { entered[state]++ }}
			xs := make([]int, tt.items)
			for i := range xs {
				xs[i] = i
			}
			in, _ := json.Marshal(map[string]any{"xs": xs})
			var (
				out string
				err error
			)
			clk.Go(func() { out, err = runDef(t, tt.def, string(in), opts) })
			end := clk.Run(context.Background())
			want, _ := json.Marshal(xs)
			check(t, out, err, string(want), "")
			if got := end.Sub(t0); got != tt.want {
				t.Errorf("took %s of simulated time, want %s", got, tt.want)
			}
			if !slices.IsSorted(started) || len(started) != tt.items {
				t.Errorf("items started in order %v, want all %d in item order", started, tt.items)
			}
			want = []byte(fmt.Sprint(map[string]int{"M": 1, "P": tt.items, "Q": tt.items}))
			if tt.items == 0 {
				want = []byte(fmt.Sprint(map[string]int{"M": 1}))
			}
			if fmt.Sprint(entered) != string(want) {
				t.Errorf("entered %v, want %s", entered, want)
			}
		})
	}
}
