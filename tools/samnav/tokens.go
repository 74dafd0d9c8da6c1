package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/tokenapi"
	"github.com/samnav/samnav/pkg/sdk/apierr"
)

func init() {
	register(command{
		name:    "tokens",
		summary: "issue, list, rotate and revoke API tokens on a running hub (needs an admin token in SAMNAV_TOKEN)",
		run:     runTokens,
	})
}

const tokensUsage = `Usage:
  samnav tokens create --name NAME --role ROLE [--concept C]... [--system S] [--expires D] [--reason R]
  samnav tokens list
  samnav tokens rotate ID [--overlap D] [--reason R]
  samnav tokens revoke ID --reason R
  samnav tokens events ID

Reaches the hub at --url with the admin token in SAMNAV_TOKEN. A new
token is printed once: only its hash is kept. Durations are Go durations
(1h, 720h); expiry defaults to, and is bounded by, the hub's configuration.
Roles: ` + "admin, steward, publisher, auditor, owner, subscriber" + `

Flags:`

// tokenClient calls a hub's /api/v1/tokens with an admin token.
type tokenClient struct {
	url, token string
	http       *http.Client
}

// do sends body (nil for none) as JSON and decodes a 2xx answer into out;
// every other outcome is an error that says what to do.
func (c *tokenClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.url, "/")+path, rd) //nolint:gosec // G704: the hub's address is the user's own --url
	if err != nil {
		return fmt.Errorf("%w: --url %q: %w", errUsage, c.url, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req) //nolint:gosec // G704: the hub's address is the user's own --url
	if err != nil {
		return fmt.Errorf("reach the hub at %s (is it running? see --url): %w", c.url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := apierr.FromResponse(resp); err != nil {
		switch apierr.CodeOf(err) {
		case apierr.CodeUnauthorized:
			return fmt.Errorf("the hub refused the token in SAMNAV_TOKEN (unknown, expired or revoked): %w", err)
		case apierr.CodeForbidden:
			return fmt.Errorf("the token in SAMNAV_TOKEN is not an admin's: %w", err)
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read the hub's answer: %w", err)
	}
	return nil
}

// multiFlag collects a repeated flag's values.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runTokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, _ = fmt.Fprintln(stderr, tokensUsage)
		return fmt.Errorf("%w: samnav tokens needs a subcommand: create, list, rotate, revoke or events", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("samnav tokens "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "the hub's API address")
	var req auth.CreateRequest
	var concepts multiFlag
	var role, overlap string
	reason := fs.String("reason", "", "why (kept in the token's history; required to revoke)")
	switch sub {
	case "create":
		fs.StringVar(&req.Name, "name", "", "what the token is for (required)")
		fs.StringVar(&role, "role", "", "the grant's role (required)")
		fs.Var(&concepts, "concept", "a concept a steward or owner grant covers (repeat; * for all)")
		fs.StringVar(&req.System, "system", "", "the system a publisher or subscriber grant acts for")
		fs.StringVar(&req.Expires, "expires", "", "lifetime, e.g. 1h or 720h (default: the hub's)")
	case "rotate":
		fs.StringVar(&overlap, "overlap", "", "how long the old token stays valid (default: the hub's)")
	case "list", "revoke", "events":
	default:
		_, _ = fmt.Fprintln(stderr, tokensUsage)
		return fmt.Errorf("%w: samnav tokens %q: unknown subcommand (create, list, rotate, revoke, events)", errUsage, sub)
	}
	// The id may come before the flags (rotate ID --overlap 1h).
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, tokensUsage); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	needID := sub == "rotate" || sub == "revoke" || sub == "events"
	var problems []string
	if needID && id == "" {
		problems = append(problems, "the token's ID: required")
	}
	if !needID && (id != "" || fs.NArg() > 0) {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", strings.Join(append([]string{id}, fs.Args()...), " ")))
	}
	if sub == "create" && req.Name == "" {
		problems = append(problems, "--name: required")
	}
	if sub == "create" && role == "" {
		problems = append(problems, "--role: required")
	}
	if sub == "revoke" && strings.TrimSpace(*reason) == "" {
		problems = append(problems, "--reason: required")
	}
	token := os.Getenv("SAMNAV_TOKEN")
	if token == "" {
		problems = append(problems, "SAMNAV_TOKEN: required (an admin's API token; `samnav dev` prints one at start)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	c := &tokenClient{url: *url, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	switch sub {
	case "create":
		req.Role, req.Concepts, req.Reason = auth.Role(role), concepts, *reason
		var out tokenapi.Issued
		if err := c.do(ctx, http.MethodPost, tokenapi.Path, req, &out); err != nil {
			return err
		}
		printIssued(stdout, out)
	case "rotate":
		var out tokenapi.Issued
		if err := c.do(ctx, http.MethodPost, tokenapi.Path+"/"+id+"/rotate", tokenapi.RotateRequest{Overlap: overlap, Reason: *reason}, &out); err != nil {
			return err
		}
		printIssued(stdout, out)
	case "revoke":
		var out tokenapi.Token
		if err := c.do(ctx, http.MethodPost, tokenapi.Path+"/"+id+"/revoke", tokenapi.RevokeRequest{Reason: *reason}, &out); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "revoked %s (%s)\n", out.ID, out.Name)
	case "list":
		var out tokenapi.List
		if err := c.do(ctx, http.MethodGet, tokenapi.Path, nil, &out); err != nil {
			return err
		}
		return printTokens(stdout, out.Tokens)
	case "events":
		var out tokenapi.Events
		if err := c.do(ctx, http.MethodGet, tokenapi.Path+"/"+id+"/events", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		_, _ = fmt.Fprintln(tw, "AT\tACTION\tBY\tREASON\tRELATED")
		for _, e := range out.Events {
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Action, e.Actor, e.Reason, e.Related)
		}
		return tw.Flush()
	}
	return nil
}

func printIssued(w io.Writer, t tokenapi.Issued) {
	expires := "never"
	if t.Expires != nil {
		expires = t.Expires.Format(time.RFC3339)
	}
	_, _ = fmt.Fprintf(w, "id:      %s\ntoken:   %s\nexpires: %s\nThe token is shown this once: only its hash is kept.\n", t.ID, t.Secret, expires)
}

func printTokens(w io.Writer, ts []tokenapi.Token) error {
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ID\tNAME\tROLE\tGRANTS\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	for _, t := range ts {
		var roles, grants []string
		for _, g := range t.Grants {
			roles = append(roles, string(g.Role))
			switch {
			case g.System != "":
				grants = append(grants, "system "+g.System)
			case len(g.Concepts) > 0:
				grants = append(grants, strings.Join(g.Concepts, ","))
			}
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(roles, ","), orDash(strings.Join(grants, "; ")),
			when(&t.Created), when(t.Expires), when(t.LastUsed), when(t.Revoked))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
