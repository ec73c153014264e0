package samtemplate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestScheduleInput(t *testing.T) {
	at := time.Date(2026, 11, 25, 11, 0, 0, 987_000_000, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		s       Schedule
		want    string
		wantErr string
	}{
		{name: "attributes", s: Schedule{LogicalID: "Nightly", InputTemplate: `{
			"t": "<aws.scheduler.scheduled-time>", "id": "<aws.scheduler.execution-id>",
			"n": <aws.scheduler.attempt-number>, "arn": "<aws.scheduler.schedule-arn>", "again": "<aws.scheduler.execution-id>"}`},
			want: `{"t":"2026-11-25T10:00:00Z","id":"e-1","n":1,"arn":"arn:aws:scheduler:local:000000000000:schedule/default/Nightly","again":"e-1"}`},
		{name: "no input", s: Schedule{LogicalID: "S"}, want: `{}`},
		{name: "not JSON once filled in", s: Schedule{LogicalID: "S", InputTemplate: `{"t": <aws.scheduler.scheduled-time>}`},
			wantErr: "Target.Input is not JSON once filled in"},
		{name: "unresolved input", s: Schedule{LogicalID: "S", InputError: "${AWS::Region}: no local value"},
			wantErr: "schedule S: Target.Input: ${AWS::Region}: no local value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Input(at, "e-1")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrCannotFire) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Input = %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
}

func TestParseExpression(t *testing.T) {
	tests := []struct {
		expr  string
		kind  string
		every time.Duration
	}{
		{"rate(1 minute)", "rate", time.Minute},
		{"rate(15 minutes)", "rate", 15 * time.Minute},
		{"rate(1 hour)", "rate", time.Hour},
		{"rate(6 hours)", "rate", 6 * time.Hour},
		{"rate(1 day)", "rate", 24 * time.Hour},
		{"rate(7 days)", "rate", 7 * 24 * time.Hour},
		{"cron(0 6 * * ? *)", "cron", 0},
		{"at(2026-12-01T06:00:00)", "at", 0},
		{"rate(1 minutes)", "", 0},
		{"rate(-1 minutes)", "", 0},
		{"rate(1.5 hours)", "", 0},
		{"rate(5)", "", 0},
		{"rate(5 weeks)", "", 0},
		{"rate(5 minutes", "", 0},
		{"cron(0 6 * * ?)", "", 0},
		{"at(2026-12-01)", "", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		e, err := ParseExpression(tt.expr)
		if tt.kind == "" {
			if err == nil || !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.expr)) {
				t.Errorf("ParseExpression(%q) = %v, want an error naming it", tt.expr, err)
			}
			continue
		}
		if err != nil || e.Kind != tt.kind || e.Every != tt.every {
			t.Errorf("ParseExpression(%q) = %+v, %v; want %s every %v", tt.expr, e, err, tt.kind, tt.every)
		}
	}
}
