package lang

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		"seconds":       {in: "30s", want: 30 * time.Second},
		"compound":      {in: "1h30m", want: 90 * time.Minute},
		"days":          {in: "2d", want: 48 * time.Hour},
		"days and more": {in: "1d12h", want: 36 * time.Hour},
		"millis":        {in: "250ms", want: 250 * time.Millisecond},
		"zero":          {in: "0s", want: 0},
		"empty":         {in: "", wantErr: true},
		"no unit":       {in: "5", wantErr: true},
		"words":         {in: "5 minutes", wantErr: true},
		"negative":      {in: "-1m", wantErr: true},
		"days trailing": {in: "1dx", wantErr: true},
		"huge days":     {in: "99999999999d", wantErr: true},
		"overflow":      {in: "36500d2540400h", wantErr: true},
		"hour overflow": {in: "9999999999h", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
