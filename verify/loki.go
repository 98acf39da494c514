package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Loki API paths, as the gateway routes them (components/gateway).
const (
	HealthPath     = "/" // answered by nginx itself, without auth (the kubelet's readiness probe)
	PushPath       = "/loki/api/v1/push"
	QueryRangePath = "/loki/api/v1/query_range"
)

// Client talks to Loki through the gateway as Alloy and Grafana do: tenant header and, when
// the stack has auth on, basic auth.
type Client struct {
	// BaseURL of the gateway, e.g. http://127.0.0.1:41234 (a port-forward).
	BaseURL string
	// Tenant is sent as X-Scope-OrgID.
	Tenant string
	// Username and Password of the gateway's basic auth; no auth when Password is empty.
	Username, Password string
	// HTTP is the client used; nil means one with a 10 s timeout.
	HTTP *http.Client
}

// StatusError is an answer other than the one expected.
type StatusError struct {
	Method, Path string
	Code         int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s answered %d %s: %s", e.Method, e.Path, e.Code, http.StatusText(e.Code), strings.TrimSpace(e.Body))
}

// Unauthorized says whether err is the gateway refusing the credentials.
func Unauthorized(err error) bool {
	var s *StatusError
	return errors.As(err, &s) && s.Code == http.StatusUnauthorized
}

// Stream is one stream of a query result.
type Stream struct {
	Labels map[string]string
	Lines  []string
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, want int) ([]byte, error) {
	u := strings.TrimSuffix(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", c.Tenant)
	}
	if c.Password != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return nil, &StatusError{Method: method, Path: path, Code: resp.StatusCode, Body: string(b)}
	}
	return b, nil
}

// Health asks the gateway's health path, which nginx answers itself.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, HealthPath, nil, nil, http.StatusOK)
	return err
}

// Push sends one line in Loki's JSON push format; Loki answers 204.
func (c *Client) Push(ctx context.Context, labels map[string]string, at time.Time, line string) error {
	body, err := json.Marshal(map[string]any{"streams": []any{map[string]any{
		"stream": labels,
		"values": [][2]string{{strconv.FormatInt(at.UnixNano(), 10), line}},
	}}})
	if err != nil {
		return fmt.Errorf("encoding the push: %w", err)
	}
	_, err = c.do(ctx, http.MethodPost, PushPath, nil, body, http.StatusNoContent)
	return err
}

// QueryRange runs a LogQL log query over [start, end], newest lines first.
func (c *Client) QueryRange(ctx context.Context, logql string, start, end time.Time, limit int) ([]Stream, error) {
	q := url.Values{
		"query": {logql}, "start": {strconv.FormatInt(start.UnixNano(), 10)}, "end": {strconv.FormatInt(end.UnixNano(), 10)},
		"limit": {strconv.Itoa(limit)}, "direction": {"backward"},
	}
	b, err := c.do(ctx, http.MethodGet, QueryRangePath, q, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, fmt.Errorf("reading the query_range answer: %w", err)
	}
	if answer.Status != "success" || answer.Data.ResultType != "streams" {
		return nil, fmt.Errorf("query_range answered status %q with result type %q, want success with streams", answer.Status, answer.Data.ResultType)
	}
	streams := make([]Stream, 0, len(answer.Data.Result))
	for _, r := range answer.Data.Result {
		s := Stream{Labels: r.Stream}
		for _, v := range r.Values {
			s.Lines = append(s.Lines, v[1])
		}
		streams = append(streams, s)
	}
	return streams, nil
}

// Wait repeats a query every poll until it returns a line containing contains (any line when
// empty), or until deadline; the error then names the query, the text and what was seen.
func (c *Client) Wait(ctx context.Context, logql, contains string, start time.Time, deadline, poll time.Duration) (Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	queries, last := 0, "no answer yet"
	for {
		queries++
		streams, err := c.QueryRange(ctx, logql, start, time.Now().Add(time.Minute), 100)
		switch {
		case err != nil && ctx.Err() == nil:
			if Unauthorized(err) {
				return Stream{}, err // no point in asking again
			}
			last = err.Error()
		case err == nil:
			for _, s := range streams {
				for _, l := range s.Lines {
					if strings.Contains(l, contains) {
						return s, nil
					}
				}
			}
			last = fmt.Sprintf("%d stream(s), none with the line", len(streams))
		}
		select {
		case <-ctx.Done():
			what := "no line"
			if contains != "" {
				what = fmt.Sprintf("no line containing %q", contains)
			}
			return Stream{}, fmt.Errorf("%s for %s within %s (%d queries; last answer: %s)", what, logql, deadline, queries, last)
		case <-time.After(poll):
		}
	}
}
