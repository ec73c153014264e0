package vidgen

import "encoding/json"

// ModelList is the body of GET /v1/models: the AI/ML API's own catalogue
// shape ({"object": "list", "data": [...]}), limited to the video models
// vidgen serves, each with the JSON Schema of its request body.
type ModelList struct {
	Object string  `json:"object"` // always "list"
	Data   []Model `json:"data"`
}

// Model is one catalogued video model as GET /v1/models lists it. ID,
// Type, Info and Tags are always present, as upstream; Capabilities and
// Modalities only when asked for (include=capabilities, modalities or
// all). Schema is vidgen's own member.
type Model struct {
	ID string `json:"id"`
	// Type is the upstream's endpoint type of the model:
	// "internal/video-generations/submit" for every video model.
	Type string    `json:"type"`
	Info ModelInfo `json:"info"`
	Tags []string  `json:"tags"`
	// Capabilities are the kinds of generation the model serves, in the
	// upstream's words: text_to_video, image_to_video, video_to_video.
	Capabilities []string    `json:"capabilities,omitempty"`
	Modalities   *Modalities `json:"modalities,omitempty"`
	// Schema is the JSON Schema of the model's request body, as vidgen
	// validates it (the upstream's documented schema, translated from
	// OpenAPI 3.0), plus vidgen's own callback_url.
	Schema json.RawMessage `json:"schema"`
}

// ModelInfo names a model.
type ModelInfo struct {
	Name      string `json:"name"`
	Developer string `json:"developer"`
}

// Modalities are what a model takes in (text, image, video, audio) and
// what it makes (video).
type Modalities struct {
	Input  []string `json:"input"`
	Output []string `json:"output"`
}
