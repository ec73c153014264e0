package upstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vidgen/vidgen/internal/metrics"
)

// TestUpstreamResponsesByClass checks that every call counts its answer's
// class, the failed ones too, over real HTTP.
func TestUpstreamResponsesByClass(t *testing.T) {
	refused := closedPort(t) // connecting to it fails

	tests := []struct {
		status int // 0: no server
		class  string
	}{
		{http.StatusOK, metrics.Class2xx},
		{http.StatusCreated, metrics.Class2xx},
		{http.StatusBadRequest, metrics.Class4xx},
		{http.StatusUnauthorized, metrics.Class4xx},
		{http.StatusNotFound, metrics.Class4xx},
		{http.StatusTooManyRequests, metrics.Class429},
		{http.StatusInternalServerError, metrics.Class5xx},
		{http.StatusBadGateway, metrics.Class5xx},
		{0, metrics.ClassTransport},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			base := refused
			if tt.status != 0 {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(`{"id":"g1","status":"queued"}`))
				}))
				defer srv.Close()
				base = srv.URL
			}
			reg := metrics.NewRegistry()
			c := New(Config{BaseURL: base, Key: testKey, Metrics: metrics.New("test", reg, nil)})
			_, _ = c.Submit(context.Background(), validRequest())
			_, _ = c.Get(context.Background(), "g1")
			if got, _ := reg.Value(metrics.UpstreamResponses, "test", metrics.Label{Key: metrics.DimClass, Value: tt.class}); got != 2 {
				t.Errorf("UpstreamResponses{Class=%s} = %v after two calls answered %d, want 2", tt.class, got, tt.status)
			}
		})
	}
}
