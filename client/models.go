package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/vidgen/vidgen"
)

// PathModels lists the models the API serves (GET, no key needed).
const PathModels = "/v1/models"

// Models returns the models the API serves, sorted by id, each with its
// capabilities, modalities and request schema. ids, if given, keeps only
// those models (an unknown id is left out, not an error).
func (c *Client) Models(ctx context.Context, ids ...string) ([]vidgen.Model, error) {
	q := url.Values{"include": {"all"}}
	for _, id := range ids {
		q.Add("id", id)
	}
	var list vidgen.ModelList
	if err := c.do(ctx, call{method: http.MethodGet, path: PathModels, query: q, out: &list}); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	return list.Data, nil
}
