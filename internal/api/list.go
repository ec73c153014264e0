package api

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/job"
)

// List limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// Page is one page of a tenant's generations, newest first, as clients
// import it.
type Page = vidgen.Page

func (h *Handler) list(ctx context.Context, tenant string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	q := req.QueryStringParameters
	var ve job.ValidationError
	filter, usageDay := listFilter(q, h.Clock.Now(), &ve)
	limit := DefaultListLimit
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxListLimit {
			ve.Fields = append(ve.Fields, job.FieldError{Field: "limit", Message: "must be an integer from 1 to 100"})
		}
		limit = n
	}
	key, err := h.CursorKey(ctx)
	if err != nil {
		h.Log.ErrorContext(ctx, "cursor key", "err", err)
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not list jobs; try again")
	}
	// The signature binds a cursor to its tenant and filter, so a cursor
	// cannot be altered, forged or reused for another listing.
	scope := tenant + "\x00" + string(filter.Status)
	if filter.Model != "" {
		scope += "\x00" + filter.Model
	}
	var cursor string
	if v := q["next"]; v != "" {
		if cursor, err = openCursor(key, scope, v); err != nil {
			ve.Fields = append(ve.Fields, job.FieldError{Field: "next", Message: "is not a cursor this listing returned"})
		}
	}
	if len(ve.Fields) > 0 {
		slices.SortFunc(ve.Fields, func(a, b job.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return validationResponse(&ve)
	}
	jobs, next, err := h.Store.List(ctx, tenant, filter, limit, cursor)
	if errors.Is(err, job.ErrBadCursor) {
		return validationResponse(&job.ValidationError{Fields: []job.FieldError{{Field: "next", Message: "is not a cursor this listing returned"}}})
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "list jobs", "err", err)
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not list jobs; try again")
	}
	page := Page{Data: make([]Generation, len(jobs)), Usage: h.usage(ctx, tenant, usageDay)}
	for i, j := range jobs {
		page.Data[i] = h.linked(ctx, j)
		h.estimate(ctx, j, &page.Data[i])
		h.stamp(&page.Data[i])
	}
	h.queuePositions(ctx, jobs, page.Data)
	if next != "" {
		signed := sealCursor(key, scope, next)
		page.Next = &signed
	}
	return jsonResponse(http.StatusOK, page)
}

func cursorMAC(key []byte, scope, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// sealCursor signs a store cursor: payload.signature, both base64url.
func sealCursor(key []byte, scope, payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(cursorMAC(key, scope, payload))
}

var errBadSeal = errors.New("cursor signature does not match")

func openCursor(key []byte, scope, sealed string) (string, error) {
	p, s, ok := strings.Cut(sealed, ".")
	payload, perr := base64.RawURLEncoding.DecodeString(p)
	sig, serr := base64.RawURLEncoding.DecodeString(s)
	if !ok || perr != nil || serr != nil || !hmac.Equal(sig, cursorMAC(key, scope, string(payload))) {
		return "", errBadSeal
	}
	return string(payload), nil
}

// queuePositions sets the queue position of a page's waiting jobs with one
// store query, for the oldest of them: a page is a run of the tenant's
// jobs in creation order (filtered to queued at most, which keeps every
// waiting job), so the tenant's waiting jobs between two of the page's are
// on the page too, and each one's place is the oldest's plus the page's
// waiting jobs older than it.
func (h *Handler) queuePositions(ctx context.Context, jobs []job.Job, data []Generation) {
	var waiting []int // indexes into jobs, oldest first
	for i, j := range jobs {
		if j.Waiting && !j.Status.Terminal() {
			waiting = append(waiting, i)
		}
	}
	if len(waiting) == 0 {
		return
	}
	slices.SortFunc(waiting, func(a, b int) int {
		return cmp.Or(jobs[a].CreatedAt.Compare(jobs[b].CreatedAt), strings.Compare(jobs[a].ID, jobs[b].ID))
	})
	first, err := h.Store.QueuePosition(ctx, jobs[waiting[0]])
	if err != nil {
		h.Log.WarnContext(ctx, "queue positions", "err", err)
		return
	}
	for k, i := range waiting {
		pos := first + k
		data[i].QueuePosition = &pos
	}
}
