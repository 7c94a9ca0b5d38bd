package checks

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Probe performs the GET behind http_ok and returns the status code.
type Probe func(ctx context.Context, url string) (int, error)

// HTTPProbe returns a Probe that uses hc (http.DefaultClient when nil) and
// does not follow redirects, so status = 301 can be asserted.
func HTTPProbe(hc *http.Client) Probe {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return func(ctx context.Context, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, nil
	}
}

// EvalHTTP evaluates http_ok: a GET of args.URL answers args.Status (200
// when unset).
func EvalHTTP(ctx context.Context, args Args, probe Probe) Result {
	r := Result{Name: HTTPCheck}
	if args.URL == "" {
		r.Reason = "http_ok needs a url argument"
		return r
	}
	if probe == nil {
		r.Reason = "no HTTP probe given"
		return r
	}
	want := args.Status
	if want == 0 {
		want = http.StatusOK
	}
	got, err := probe(ctx, args.URL)
	if err != nil {
		r.Observed = fmt.Sprintf("GET %s failed", args.URL)
		r.Reason = err.Error()
		return r
	}
	r.Observed = fmt.Sprintf("GET %s -> %d", args.URL, got)
	if got == want {
		r.OK = true
		return r
	}
	r.Reason = fmt.Sprintf("want status %d", want)
	return r
}
