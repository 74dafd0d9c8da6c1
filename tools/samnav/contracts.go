package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/envelope"
)

func init() {
	register(command{
		name:    "contracts",
		summary: "generate contracts from the concept model (gen), or check them for breaking changes (check)",
		run:     runContracts,
	})
}

const contractsUsage = `Usage:
  samnav contracts gen [--dir contracts] [--verify]
  samnav contracts check --against <git ref | registry URL> [--dir contracts] [--level LEVEL] [--allow-removed]`

func runContracts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, _ = fmt.Fprintln(stderr, contractsUsage)
		return fmt.Errorf("%w: contracts needs a subcommand: gen or check", errUsage)
	}
	switch args[0] {
	case "gen":
		return contractsGen(args[1:], stdout, stderr)
	case "check":
		return contractsCheck(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		_, _ = fmt.Fprintln(stdout, contractsUsage)
		return nil
	}
	_, _ = fmt.Fprintln(stderr, contractsUsage)
	return fmt.Errorf("%w: unknown contracts subcommand %q (want gen or check)", errUsage, args[0])
}

func contractsGen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("contracts gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "contracts", "the contracts directory, holding model/")
	verify := fs.Bool("verify", false, "write nothing; fail if a generated file is missing or stale")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: contracts gen takes no arguments, got %q", errUsage, fs.Args())
	}
	m, err := model.LoadDir(filepath.Join(*dir, "model"))
	if err != nil {
		var errs model.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				_, _ = fmt.Fprintln(stderr, e)
			}
			return fmt.Errorf("load concept model: %d problems", len(errs))
		}
		return fmt.Errorf("load concept model: %w", err)
	}
	files, err := generator.Generate(m)
	if err != nil {
		return fmt.Errorf("generate contracts: %w", err)
	}
	if *verify {
		if stale := generator.Stale(*dir, files); len(stale) > 0 {
			for _, p := range stale {
				_, _ = fmt.Fprintf(stderr, "%s: stale or missing\n", filepath.Join(*dir, p))
			}
			return fmt.Errorf("verify contracts: %d generated files are not current; run samnav contracts gen", len(stale))
		}
		if _, err := fmt.Fprintf(stdout, "%d generated files are current\n", len(files)); err != nil {
			return fmt.Errorf("verify contracts: write result: %w", err)
		}
		return nil
	}
	if err := generator.Write(*dir, files); err != nil {
		return fmt.Errorf("write contracts: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "generated %d files for %d concepts in %s\n", len(files), len(m.Concepts), *dir); err != nil {
		return fmt.Errorf("generate contracts: write result: %w", err)
	}
	return nil
}

// checkGenerated fails when dir has a model whose generated schemas are
// not the ones on disk: the check would otherwise judge stale files.
func checkGenerated(dir string, stderr io.Writer) error {
	modelDir := filepath.Join(dir, "model")
	if _, err := os.Stat(modelDir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	m, err := model.LoadDir(modelDir)
	if err != nil {
		return fmt.Errorf("load concept model (fix it, then run samnav contracts gen): %w", err)
	}
	files, err := generator.Generate(m)
	if err != nil {
		return fmt.Errorf("generate contracts: %w", err)
	}
	schemas := slices.DeleteFunc(files, func(f generator.File) bool { return !strings.HasPrefix(f.Path, "avro/") })
	if stale := generator.Stale(dir, schemas); len(stale) > 0 {
		for _, p := range stale {
			_, _ = fmt.Fprintf(stderr, "%s: stale or missing\n", filepath.Join(dir, p))
		}
		return fmt.Errorf("contracts check: %d schemas are not generated from the current model; run samnav contracts gen first", len(stale))
	}
	return nil
}

var avscFile = regexp.MustCompile(`^([a-z][a-z0-9]*)\.v([1-9][0-9]*)\.avsc$`)

// contractFile is one schema file of the working tree.
type contractFile struct {
	name    string // "person.v1.avsc"
	concept string
	major   int
	schema  string
}

func (c contractFile) topic() string   { return envelope.StateTopic(c.concept, c.major) }
func (c contractFile) subject() string { return c.topic() + "-value" }

// baseline is what the working tree's contracts are checked against.
type baseline interface {
	// versions returns the earlier versions of c, oldest first (none for a
	// new contract), and the compatibility level configured for it, or ""
	// when the baseline has none.
	versions(ctx context.Context, c contractFile) ([]compat.Version, compat.Level, error)
	// removed returns the contracts the baseline has and the working tree
	// no longer has.
	removed(ctx context.Context, current []contractFile) ([]string, error)
}

func contractsCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("contracts check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "contracts", "the contracts directory, holding avro/")
	against := fs.String("against", "", "a git ref (main, HEAD~1, a tag) or a schema registry URL (http[s]://...)")
	levelFlag := fs.String("level", "", "compatibility level (default: the subject's level in the registry, else BACKWARD_TRANSITIVE)")
	allowRemoved := fs.Bool("allow-removed", false, "allow contracts (whole major versions) to be removed")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if *against == "" {
		return fmt.Errorf("%w: contracts check needs --against <git ref or registry URL>", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: contracts check takes no arguments, got %q", errUsage, fs.Args())
	}
	var level compat.Level
	if *levelFlag != "" {
		l, err := compat.ParseLevel(*levelFlag)
		if err != nil {
			return fmt.Errorf("%w: --level: %w", errUsage, err)
		}
		level = l
	}
	if err := checkGenerated(*dir, stderr); err != nil {
		return err
	}
	current, err := readContracts(*dir)
	if err != nil {
		return err
	}
	var base baseline
	if strings.HasPrefix(*against, "http://") || strings.HasPrefix(*against, "https://") {
		rb, err := newRegistryBaseline(*against)
		if err != nil {
			return fmt.Errorf("%w: --against: %w", errUsage, err)
		}
		base = rb
	} else {
		gb, err := newGitBaseline(ctx, *dir, *against)
		if err != nil {
			return err
		}
		base = gb
	}
	breaking := 0
	broken := map[string]bool{}
	for _, c := range current {
		prev, configured, err := base.versions(ctx, c)
		if err != nil {
			return fmt.Errorf("read earlier versions of %s: %w", c.subject(), err)
		}
		l := level
		if l == "" {
			l = configured
		}
		if l == "" {
			l = compat.Default
		}
		problems, err := compat.Check(l, c.schema, prev)
		if err != nil {
			return fmt.Errorf("check %s: %w", c.name, err)
		}
		for _, p := range problems {
			if _, err := fmt.Fprintf(stdout, "%s: %s: %s (%s, %s against %s)\n", filepath.Join(*dir, "avro", c.name), c.topic(), p.Message, l, p.Direction, p.Against); err != nil {
				return fmt.Errorf("contracts check: write report: %w", err)
			}
			breaking++
			broken[c.concept] = true
		}
	}
	removed, err := base.removed(ctx, current)
	if err != nil {
		return fmt.Errorf("list removed contracts: %w", err)
	}
	if !*allowRemoved {
		for _, r := range removed {
			if _, err := fmt.Fprintf(stdout, "%s: contract removed: subscribers of it lose their topic (keep the old major's schema until they have moved, or pass --allow-removed)\n", r); err != nil {
				return fmt.Errorf("contracts check: write report: %w", err)
			}
			breaking++
		}
	}
	if breaking > 0 {
		var names []string
		for c := range broken {
			names = append(names, c)
		}
		slices.Sort(names)
		hint := ""
		if len(names) > 0 {
			hint = fmt.Sprintf("; a breaking change needs a new major version: raise major in %s, keep the old schema, and run samnav contracts gen", strings.Join(modelFiles(names), ", "))
		}
		return fmt.Errorf("contracts check against %s: %d breaking changes%s", redact(*against), breaking, hint)
	}
	if _, err := fmt.Fprintf(stdout, "%d contracts checked against %s: no breaking changes\n", len(current), redact(*against)); err != nil {
		return fmt.Errorf("contracts check: write report: %w", err)
	}
	return nil
}

func modelFiles(concepts []string) []string {
	out := make([]string, len(concepts))
	for i, c := range concepts {
		out[i] = "model/" + c + ".yaml"
	}
	return out
}

func readContracts(dir string) ([]contractFile, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "avro"))
	if err != nil {
		return nil, fmt.Errorf("read contracts: %w", err)
	}
	var out []contractFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".avsc") {
			continue
		}
		c, err := parseContractName(e.Name())
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, "avro", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read contract: %w", err)
		}
		c.schema = string(b)
		out = append(out, c)
	}
	return out, nil
}

func parseContractName(name string) (contractFile, error) {
	m := avscFile.FindStringSubmatch(name)
	if m == nil {
		return contractFile{}, fmt.Errorf("contract file %s: name is not <concept>.v<major>.avsc", name)
	}
	major, err := strconv.Atoi(m[2])
	if err != nil {
		return contractFile{}, fmt.Errorf("contract file %s: major: %w", name, err)
	}
	return contractFile{name: name, concept: m[1], major: major}, nil
}

// gitBaseline reads the contracts at a git ref of the repository holding
// the contracts directory.
type gitBaseline struct {
	dir, ref string
	files    map[string]bool // avro file names at ref
}

func newGitBaseline(ctx context.Context, dir, ref string) (*gitBaseline, error) {
	if strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("%w: --against: git ref %q must not start with '-'", errUsage, ref)
	}
	if _, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return nil, fmt.Errorf("%w: --against: %q is neither a registry URL nor a commit in the git repository at %s", errUsage, ref, dir)
	}
	out, err := git(ctx, dir, "ls-tree", "--name-only", ref, "--", "avro/")
	if err != nil {
		return nil, fmt.Errorf("list contracts at %s: %w", ref, err)
	}
	g := &gitBaseline{dir: dir, ref: ref, files: map[string]bool{}}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name := strings.TrimPrefix(line, "avro/")
		if strings.HasSuffix(name, ".avsc") {
			g.files[name] = true
		}
	}
	return g, nil
}

func (g *gitBaseline) versions(ctx context.Context, c contractFile) ([]compat.Version, compat.Level, error) {
	if !g.files[c.name] {
		return nil, "", nil
	}
	text, err := git(ctx, g.dir, "show", g.ref+":./avro/"+c.name)
	if err != nil {
		return nil, "", fmt.Errorf("read %s at %s: %w", c.name, g.ref, err)
	}
	return []compat.Version{{Label: g.ref, Schema: text}}, "", nil
}

func (g *gitBaseline) removed(_ context.Context, current []contractFile) ([]string, error) {
	var out []string
	for name := range g.files {
		if !slices.ContainsFunc(current, func(c contractFile) bool { return c.name == name }) {
			out = append(out, filepath.Join(g.dir, "avro", name)+" (at "+g.ref+")")
		}
	}
	slices.Sort(out)
	return out, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...) //nolint:gosec // G204: runs git itself, not a shell, with arguments built here; a ref starting with '-' is refused
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// registryBaseline reads earlier versions from a Confluent-compatible
// schema registry.
type registryBaseline struct {
	base   *url.URL
	client *http.Client
}

func newRegistryBaseline(raw string) (*registryBaseline, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse registry URL: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("registry URL %q has no host", redact(raw))
	}
	return &registryBaseline{base: u, client: &http.Client{Timeout: 30 * time.Second}}, nil
}

// errNotFound is a registry 404: no such subject, version or config.
var errNotFound = errors.New("not found")

func (r *registryBaseline) get(ctx context.Context, path string, query url.Values, v any) error {
	u := *r.base
	u.User = nil
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if r.base.User != nil {
		pw, _ := r.base.User.Password()
		req.SetBasicAuth(r.base.User.Username(), pw)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", u.Path, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return errNotFound
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code    int    `json:"error_code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("get %s: registry answered %s: %d %s", u.Path, resp.Status, e.Code, e.Message)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", u.Path, err)
	}
	return nil
}

func (r *registryBaseline) versions(ctx context.Context, c contractFile) ([]compat.Version, compat.Level, error) {
	subject := "/subjects/" + url.PathEscape(c.subject())
	var ids []int
	switch err := r.get(ctx, subject+"/versions", nil, &ids); {
	case errors.Is(err, errNotFound):
		return nil, "", nil // a new subject: nothing to break
	case err != nil:
		return nil, "", err
	}
	var cfg struct {
		Level string `json:"compatibilityLevel"`
		// Some registries answer with the PUT body's key.
		Compatibility string `json:"compatibility"`
	}
	var level compat.Level
	switch err := r.get(ctx, "/config/"+url.PathEscape(c.subject()), url.Values{"defaultToGlobal": {"true"}}, &cfg); {
	case errors.Is(err, errNotFound):
	case err != nil:
		return nil, "", err
	default:
		if cfg.Level == "" {
			cfg.Level = cfg.Compatibility
		}
		if cfg.Level != "" {
			l, err := compat.ParseLevel(cfg.Level)
			if err != nil {
				return nil, "", fmt.Errorf("config of %s: %w", c.subject(), err)
			}
			level = l
		}
	}
	// Every version is read: compat.Check narrows to the latest for a
	// non-transitive level, which --level may override.
	slices.Sort(ids)
	var out []compat.Version
	for _, id := range ids {
		var v struct {
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		if err := r.get(ctx, fmt.Sprintf("%s/versions/%d", subject, id), nil, &v); err != nil {
			return nil, "", err
		}
		if v.SchemaType != "" && v.SchemaType != "AVRO" {
			return nil, "", fmt.Errorf("%s version %d is a %s schema, not Avro", c.subject(), id, v.SchemaType)
		}
		out = append(out, compat.Version{Label: fmt.Sprintf("%s version %d", c.subject(), id), Schema: v.Schema})
	}
	return out, level, nil
}

// removed is always empty for a registry: it keeps subjects of retired
// majors and of other producers, so absence from the working tree says
// nothing.
func (r *registryBaseline) removed(context.Context, []contractFile) ([]string, error) {
	return nil, nil
}

// redact drops a password from a URL before it is printed.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
