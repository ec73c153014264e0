package dynamostore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// request is a job's request as the table holds it: a map of its JSON
// members, the upstream's body, numbers as numbers. That is what a
// gen3a_turbo request's typed fields always encoded to, and it holds any
// other model's body (job.Request.Body) as well.
type request job.Request

// MarshalDynamoDBAttributeValue implements attributevalue.Marshaler.
func (r request) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	raw, err := json.Marshal(job.Request(r))
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return attributevalue.Marshal(body)
}

// UnmarshalDynamoDBAttributeValue implements attributevalue.Unmarshaler.
func (r *request) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	var body map[string]any
	if err := attributevalue.UnmarshalWithOptions(av, &body, func(o *attributevalue.DecoderOptions) { o.UseNumber = true }); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	raw, err := json.Marshal(jsonNumbers(body))
	if err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	var req job.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	*r = request(req)
	return nil
}

// jsonNumbers turns the attributevalue.Numbers of a decoded value into
// json.Numbers, which encode as the same digits.
func jsonNumbers(v any) any {
	switch v := v.(type) {
	case attributevalue.Number:
		return json.Number(v)
	case map[string]any:
		for k, x := range v {
			v[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range v {
			v[i] = jsonNumbers(x)
		}
	}
	return v
}

// sameRequest reports whether two requests are the same JSON values,
// numbers compared exactly by value: the table normalises numbers (10.0
// and 1e1 are read back as 10), so a retried Create must not take the
// record it wrote for another job's.
func sameRequest(a, b job.Request) bool {
	x, errA := decodeJSON(a)
	y, errB := decodeJSON(b)
	return errA == nil && errB == nil && sameJSON(x, y)
}

// decodeJSON is r's JSON encoding decoded, numbers as json.Number.
func decodeJSON(r job.Request) (any, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameJSON reports whether two decoded JSON values are equal, numbers
// compared by value whatever their digits.
func sameJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		x, okA := new(big.Rat).SetString(a.String())
		y, okB := new(big.Rat).SetString(b.String())
		return okA && okB && x.Cmp(y) == 0
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			if y, ok := b[k]; !ok || !sameJSON(x, y) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	default: // string, bool, nil
		return a == b
	}
}
