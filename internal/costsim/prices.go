package costsim

import "time"

// Prices are AWS's published on-demand prices the report uses (us-east-1,
// as listed on the services' pricing pages in 2026; check them before
// relying on the dollars).
type Prices struct {
	Transition      float64 // Step Functions Standard, per state transition
	LambdaRequest   float64 // per invocation
	LambdaGBSecond  float64 // arm64, per GB-second
	DynamoWRU       float64 // on-demand, per write request unit
	DynamoRRU       float64 // on-demand, per read request unit
	S3Put, S3Get    float64 // per request
	Event           float64 // EventBridge custom event, per 64 KB chunk
	HTTPAPIRequest  float64 // API Gateway HTTP API, per request
	LambdaMemoryMiB int     // of every function (template.yaml's Globals)

	// ExpressRequest and ExpressGBSecond are Step Functions Express's, per
	// execution started and per GB-second of its duration (the first
	// 1,000 GB-hours a month's rate), for a Design that polls in Express
	// rounds.
	ExpressRequest, ExpressGBSecond float64
}

// PublishedPrices are the prices the report states.
func PublishedPrices() Prices {
	return Prices{
		Transition:      0.025 / 1000,
		LambdaRequest:   0.20 / 1e6,
		LambdaGBSecond:  0.0000133334,
		DynamoWRU:       0.625 / 1e6,
		DynamoRRU:       0.125 / 1e6,
		S3Put:           0.005 / 1000,
		S3Get:           0.0004 / 1000,
		Event:           1.00 / 1e6,
		HTTPAPIRequest:  1.00 / 1e6,
		LambdaMemoryMiB: 128,

		ExpressRequest: 1.00 / 1e6, ExpressGBSecond: 0.00001667,
	}
}

// Latencies model how long each outside call takes, which the simulation
// cannot observe: the clock advances by them, and Lambda bills them.
type Latencies struct {
	UpstreamGet, UpstreamPost time.Duration
	Dynamo                    time.Duration // any DynamoDB call
	S3Put                     time.Duration // includes the video download that precedes it
	Compute                   time.Duration // a handler's own work per invocation
}

// ModelLatencies are typical figures for calls within one region and to an
// API on the internet.
func ModelLatencies() Latencies {
	return Latencies{
		UpstreamGet: 150 * time.Millisecond, UpstreamPost: 400 * time.Millisecond,
		Dynamo: 8 * time.Millisecond, S3Put: 300 * time.Millisecond, Compute: 3 * time.Millisecond,
	}
}
