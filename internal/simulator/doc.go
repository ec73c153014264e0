// Package simulator is a faithful fake of the AI/ML API's asynchronous video
// generation, for every model of vidgen's catalogue (internal/catalog).
// Local mode runs it in place of the real upstream, and tests use it to
// provoke every fault and every answer shape a client must survive.
//
// It serves the upstream's routes:
//
//	POST /v2/video/generations                     submit a generation
//	GET  /v2/video/generations?generation_id=ID    poll it
//	POST /v2/generate/video/runway/generation      legacy submit (any model; "ratio" is accepted for "aspect_ratio" where the model has no ratio of its own)
//	GET  /v2/generate/video/runway/generation?generation_id=ID
//	GET  /files/ID.mp4?expires=T&sig=S             the video of a completed generation (a signed link)
//	GET  /health
//	GET  /stats                                    counts of submissions and active generations (Stats)
//
// Requests are validated through the model catalogue, as vidgen validates
// them (catalog.Validate); a refused one gets 400 with error.name
// "ValidationError", a message and error.fields naming every bad field (or
// detail[] items, with the error_detail quirk below). An unknown model is a
// problem of the field "model" whose message names the supported models.
//
// A generation's status follows only from the configured Clock: it is
// "queued" for Config.QueueTime after the submit, then "generating" for its
// model's catalogue prior for the clip's duration (Model.PriorFor of
// Model.Duration), scaled by Config.GenerationTime against
// DefaultGenerationTime, then "completed". gen3a_turbo's prior is 25 s for
// 5 s and 45 s for 10 s, so it takes Config.GenerationTime, or 1.8 times
// as long for a 10-second video. With a manual clock a test decides
// exactly what each poll sees. The video served is a 10-second test
// pattern for a 10-second clip and a 5-second one for any other length;
// the answers report the length asked for.
//
// # Credits
//
// The create answer and a completed generation's poll answer carry
// meta.usage.credits_used (the poll also as tokens_used, as the poll schema
// names it): the clip's seconds times its model's credits_per_second in
// profiles.json, per provider with a few models of their own (Kling's
// masters cost more). The rates are illustrative price levels, not the
// upstream's prices; gen3a_turbo's 100,000 per second is what the
// simulator always reported.
//
// # Quirks
//
// The documentation's own examples show answers beside the documented
// schema, and the simulator serves them per model, as profiles.json says,
// so that clients are tested on each:
//
//	generation_id  the create answer names the id generation_id (poll
//	               answers keep id): MiniMax, as the Hailuo pages show
//	succeeded      status "succeeded" instead of "completed": PixVerse,
//	               and bytedance/seedance-1-0-pro-fast, as their pages show
//	video_array    video as an array of URLs: Runway's models, as the
//	               gen4_turbo, gen4_aleph and act_two pages show, except
//	               gen3a_turbo, which keeps the documented object (its
//	               page's array is what sim:legacy serves)
//	error_detail   errors as {detail: [{loc, msg, type}]} without a
//	               message, for failed generations and refused requests:
//	               Kling, as its effects pages show
//
// Config.Quirks (aimlapi-sim -quirks) serves quirks for every model beside
// its own, Config.NoModelQuirks (-no-model-quirks) drops the models' own,
// and the directive sim:quirk below does either for one generation.
//
// # Video links
//
// The upstream's video URLs are signed CDN links that expire within hours,
// which is why vidgen archives every video as soon as it sees it. The
// simulator's links expire alike: each poll answer of a completed
// generation hands out a fresh URL, valid on the Clock for
// Config.VideoURLTTL (DefaultVideoURLTTL, an hour, when unset; the real
// lifetime is not documented) from that answer. Its query carries
// "expires", the Unix second the link dies at, and "sig", a hex
// HMAC-SHA256 of the generation id and expires under a key of the Server.
// A request for a video whose signature is missing or wrong, or whose link
// has expired, gets 403 with an S3-style XML AccessDenied error ("Access
// Denied" or "Request has expired") and no video; only a valid link gets
// the video, or 404 if the generation has none.
//
// The key is random per Server unless Config.Journal is set: then it is
// kept beside the journal, in Journal+".key" (mode 0600), so that links
// handed out before a restart stay valid until they expire, as a CDN's do
// when its origin restarts.
//
// # Directives
//
// Words of a request's prompt that start with "sim:" steer that single
// generation, so end-to-end tests through vidgen can shape one job:
//
//	sim:error        ends in status "error" with a ContentModeration error
//	sim:never        stays "generating" forever
//	sim:vanish       polls answer 404 as soon as the generation is accepted
//	sim:status=WORD  reports WORD, a status the client does not know, for the
//	                 whole generating phase, then completes as usual
//	sim:gen=SECONDS  generation takes SECONDS (decimal) after the queue time
//	sim:legacy       answers in the legacy shapes the reference shows:
//	                 "waiting" instead of "queued", "complete" instead of
//	                 "completed", video as an array of URLs with the duration
//	                 at the top level, usage as credits_used, error as a string
//	sim:quirk=NAMES  serves the quirks NAMES (comma-separated, above) beside
//	                 the model's own; "none" among them drops the model's own
//
// Directives combine. sim:vanish overrides every other; sim:never overrides
// sim:error and sim:gen; sim:legacy's shapes win over quirks. A model
// without a prompt field takes no directives. Unknown or malformed directives are ignored and
// logged at Warn.
//
// # Faults
//
// Server.Inject queues faults for an endpoint; each request to that endpoint
// takes the next one. A fault strikes before the request is looked at (so a
// faulted submit is not counted) unless it has AfterAccept set, in which case
// the request is handled first and the fault then spoils its answer.
package simulator
