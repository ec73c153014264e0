package job

import (
	"fmt"
	"time"
)

// An ended job is announced once: its event goes out on the bus after the
// terminal record is written, and the record says so. EventBridge's
// PutEvents takes no idempotency key, so the announcement is a claim with
// a lease, then the publish, then the mark:
//
//  1. ClaimAnnouncement records who announces and since when, on condition
//     that the job ended, was not announced, and no claim younger than
//     the lease holds. Of concurrent Finish steps (a retry racing its lost
//     first attempt, two executions of one job) exactly one wins; the
//     others wait for the outcome.
//  2. The winner publishes.
//  3. MarkAnnounced records that the event went out; every later claim
//     fails, so a retried step or another execution publishes nothing.
//
// A winner that dies between its claim and its publish would otherwise
// lose the event forever: once its lease expires, the next claim wins and
// publishes. The price is the one window AWS leaves open: a winner that
// died after PutEvents succeeded but before its mark makes that next
// claimant publish again. So the event is exactly once unless a step dies
// in that window, and at least once always, with detail.id (the job id)
// the same on every copy for consumers to drop repeats.

// AnnounceLease is how long a claim to announce holds. It must outlast any
// Finish invocation (FinishFunction's 30 s Lambda timeout), so that a lease
// only expires once its holder can no longer publish; the state machine
// retries a Finish that finds a claim held for longer than this
// (notify.AnnouncementBusyError).
const AnnounceLease = time.Minute

// ClaimAnnouncement is the change that makes the caller the announcer of
// the ended job j at the time at, returning the claimed record. It fails
// with ErrConflict (wrapped with the reason) when j has not ended, was
// announced already, or is claimed by someone else since less than lease.
// It leaves UpdatedAt alone: that is when the job ended, which the event
// carries.
func ClaimAnnouncement(j Job, at time.Time, lease time.Duration) (Job, error) {
	switch {
	case !j.Status.Terminal():
		return j, fmt.Errorf("%w: job is %s: only an ended job is announced", ErrConflict, j.Status)
	case j.AnnouncedAt != nil:
		return j, fmt.Errorf("%w: job was announced already", ErrConflict)
	case j.AnnounceClaimed != nil && at.Before(j.AnnounceClaimed.Add(lease)):
		return j, fmt.Errorf("%w: job is being announced since %s", ErrConflict, j.AnnounceClaimed.UTC().Format(time.RFC3339))
	}
	j.AnnounceClaimed = &at
	return j, nil
}

// MarkAnnounced is the change that records that j's end was announced at
// the time at. Marking again is harmless and keeps the first time; it fails
// with ErrConflict only when j has not ended.
func MarkAnnounced(j Job, at time.Time) (Job, error) {
	if !j.Status.Terminal() {
		return j, fmt.Errorf("%w: job is %s: only an ended job is announced", ErrConflict, j.Status)
	}
	if j.AnnouncedAt == nil {
		j.AnnouncedAt = &at
	}
	return j, nil
}
