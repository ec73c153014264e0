// Package simulator is a faithful fake of the AI/ML API's asynchronous video
// generation for model gen3a_turbo. Local mode runs it in place of the real
// upstream, and tests use it to provoke every fault a client must survive.
//
// It serves the upstream's routes:
//
//	POST /v2/video/generations                     submit a generation
//	GET  /v2/video/generations?generation_id=ID    poll it
//	POST /v2/generate/video/runway/generation      legacy submit ("ratio" is accepted for "aspect_ratio")
//	GET  /v2/generate/video/runway/generation?generation_id=ID
//	GET  /files/ID.mp4?expires=T&sig=S             the video of a completed generation (a signed link)
//	GET  /health
//	GET  /stats                                    counts of submissions and active generations (Stats)
//
// Requests are validated exactly as vidgen validates them (job.ParseRequest).
// A generation's status follows only from the configured Clock: it is
// "queued" for Config.QueueTime after the submit, then "generating" for
// Config.GenerationTime (1.8 times as long for 10-second videos), then
// "completed". With a manual clock a test decides exactly what each poll sees.
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
//
// Directives combine. sim:vanish overrides every other; sim:never overrides
// sim:error and sim:gen. Unknown or malformed directives are ignored and
// logged at Warn.
//
// # Faults
//
// Server.Inject queues faults for an endpoint; each request to that endpoint
// takes the next one. A fault strikes before the request is looked at (so a
// faulted submit is not counted) unless it has AfterAccept set, in which case
// the request is handled first and the fault then spoils its answer.
package simulator
