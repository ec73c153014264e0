package dynamostore

import (
	"bytes"
	"encoding/json"
	"fmt"

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
