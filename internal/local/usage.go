package local

import (
	"fmt"
	"io"
)

// Usage is vidgen-local's help text: what it is and the environment it
// reads (docs/configuration.md says more of each variable).
const Usage = `usage: vidgen-local   (make run)

Runs all of vidgen on this machine: the HTTP API, the state machines of
template.yaml, the job store under VIDGEN_DATA_DIR and, without AIMLAPI_KEY,
the built-in upstream simulator. It takes no arguments; Ctrl-C stops it.

environment:
  VIDGEN_ADDR                      where the API listens (default ` + DefaultAddr + `)
  VIDGEN_API_KEYS                  tenant:key,… seeded on start (default ` + DefaultKeys + `)
  VIDGEN_DATA_DIR                  the jobs, videos and executions (default ` + DefaultDataDir + `)
  VIDGEN_TEMPLATE                  the SAM template to run (default template.yaml)
  VIDGEN_TIME_SCALE                every wait is divided by it (default 1)
  AIMLAPI_KEY                      the real AI/ML API's key; unset runs the simulator
  AIMLAPI_BASE_URL                 the real AI/ML API (default ` + DefaultUpstream + `)
  VIDGEN_VIDEO_HOSTS               hosts the real upstream's videos may come from (default ` + DefaultVideoHosts + `)
  VIDGEN_MAX_IN_FLIGHT             generations in flight at most (default 100; 0: no cap)
  VIDGEN_MAX_IN_FLIGHT_PER_TENANT  per tenant (default 50; 0: no cap)
  VIDGEN_SPEND_CAP_CREDITS_PER_DAY credits per tenant per UTC day (default 0: no cap)
  VIDGEN_JOB_DEADLINE              how long every job may run (default: its model's)
  VIDGEN_QUEUE_TIMEOUT             how long a job may wait for a slot
  VIDGEN_RECONCILE_INTERVAL        how often lost executions are looked for (default 1m)
  VIDGEN_SIM_QUEUE_TIME            the simulator's queue time
  VIDGEN_SIM_GENERATION_TIME       the simulator's generation time (of a 5-s gen3a_turbo; other models scale alike)
  VIDGEN_SIM_VIDEO_TTL             how long the simulator's video links stay valid
  VIDGEN_SIM_QUIRKS                answer shapes the simulator serves for every model (generation_id,succeeded,video_array,error_detail)
  VIDGEN_LOG_LEVEL                 debug, info, warn or error (default info)
  GOGC                             Go's garbage-collection target (default here 400)

Then try: go run ./cmd/vidgen submit --image examples/mountain.png --prompt 'A dragon' --out video.mp4
`

// Help writes Usage to w when args ask for help (-h, -help, --help, help)
// and reports whether it did, for vidgen-local's main.
func Help(args []string, w io.Writer) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(w, Usage)
		return true
	}
	return false
}
