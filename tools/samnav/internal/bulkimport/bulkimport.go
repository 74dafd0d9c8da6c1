package bulkimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/samnav/samnav/contracts/model"
)

// Sink stores valid records in the hub.
type Sink interface {
	// Put stores one record of concept and returns its id. An error
	// wrapping a *Rejection means the hub refused this record (it broke a
	// rule, or its natural key exists already): the row is reported and
	// the import goes on. Any other error is retried with backoff and,
	// if it persists, stops the import with the checkpoint at the last
	// stored row.
	Put(ctx context.Context, concept string, fields map[string]any) (string, error)
}

// Rejection is the hub's refusal of one record.
type Rejection struct {
	Problems []model.FieldError
}

func (r *Rejection) Error() string {
	return fmt.Sprintf("refused: %v", r.Problems)
}

// Config is one import.
type Config struct {
	Concept *model.Concept
	Format  Format
	// Input is the file to import. Resuming needs a file path, so that the
	// checkpoint can be tied to the file's content.
	Input string
	// Report receives one JSON line per rejected row:
	// {"row":N,"line":L,"problems":[{"field","rule","message"}]}.
	Report io.Writer
	// CheckpointPath, when set, is where progress is kept. An import
	// started again with the same checkpoint and the same file resumes
	// after the last stored row; with another file it refuses to start.
	CheckpointPath string
	// Progress, when set, is called after every row.
	Progress func(Progress)
	// Retries is how often a failing Put is tried again before the import
	// stops; Backoff the first wait, doubled each time. Defaults 5, 200ms.
	Retries int
	Backoff time.Duration
}

// Progress is how far an import has come.
type Progress struct {
	// Rows read so far (skipped ones included); Stored, Rejected and
	// Skipped (done by an earlier run) among them.
	Rows, Stored, Rejected, Skipped int
	// BytesRead of BytesTotal of the input file.
	BytesRead, BytesTotal int64
}

// checkpoint is what is saved between runs.
type checkpoint struct {
	// File identifies the input: SHA-256 of its content.
	File     string `json:"file"`
	Concept  string `json:"concept"`
	RowsDone int    `json:"rowsDone"`
	Stored   int    `json:"stored"`
	Rejected int    `json:"rejected"`
}

// Run imports cfg.Input row by row into sink. It returns the final progress;
// an error means the import stopped early (the checkpoint, if any, says
// where) — rejected rows are not errors, they are in the report.
func Run(ctx context.Context, cfg Config, sink Sink) (Progress, error) {
	var p Progress
	if err := cfg.validate(); err != nil {
		return p, fmt.Errorf("import: %w", err)
	}
	retries, backoff := cfg.Retries, cfg.Backoff
	if retries == 0 {
		retries = 5
	}
	if backoff == 0 {
		backoff = 200 * time.Millisecond
	}
	sum, size, err := fileDigest(cfg.Input)
	if err != nil {
		return p, fmt.Errorf("import: %w", err)
	}
	p.BytesTotal = size
	cp := checkpoint{File: sum, Concept: cfg.Concept.ID}
	if cfg.CheckpointPath != "" {
		prev, ok, err := loadCheckpoint(cfg.CheckpointPath)
		if err != nil {
			return p, fmt.Errorf("import: %w", err)
		}
		if ok {
			if prev.File != sum || prev.Concept != cfg.Concept.ID {
				return p, fmt.Errorf("import: checkpoint %s belongs to another file or concept (%s); remove it to start over", cfg.CheckpointPath, prev.Concept)
			}
			cp = prev
		}
	}
	f, err := os.Open(cfg.Input)
	if err != nil {
		return p, fmt.Errorf("import: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	counted := &countingReader{r: f}
	rows, err := newRowReader(cfg.Format, counted, cfg.Concept)
	if err != nil {
		return p, fmt.Errorf("import %s: %w", cfg.Input, err)
	}
	p.Stored, p.Rejected = cp.Stored, cp.Rejected
	report := json.NewEncoder(cfg.Report)
	for {
		if err := ctx.Err(); err != nil {
			return p, fmt.Errorf("import stopped after row %d: %w", p.Rows, err)
		}
		row, err := rows.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, fmt.Errorf("import: %w", err)
		}
		p.Rows++
		p.BytesRead = counted.n
		if row.Number <= cp.RowsDone {
			p.Skipped++
			cfg.progress(p)
			continue
		}
		problems := rowProblems(cfg.Concept, row)
		if len(problems) == 0 {
			_, err := putWithRetry(ctx, sink, cfg.Concept.ID, row.Fields, retries, backoff)
			var rej *Rejection
			switch {
			case errors.As(err, &rej):
				problems = rej.Problems
			case err != nil:
				return p, fmt.Errorf("import stopped at row %d (line %d); the %d rows before it are stored and a rerun resumes there: %w", row.Number, row.Line, p.Stored, err)
			default:
				p.Stored++
			}
		}
		if len(problems) > 0 {
			p.Rejected++
			if err := report.Encode(map[string]any{"row": row.Number, "line": row.Line, "problems": problems}); err != nil {
				return p, fmt.Errorf("import: write report: %w", err)
			}
		}
		cp.RowsDone, cp.Stored, cp.Rejected = row.Number, p.Stored, p.Rejected
		if cfg.CheckpointPath != "" {
			if err := saveCheckpoint(cfg.CheckpointPath, cp); err != nil {
				return p, fmt.Errorf("import: %w", err)
			}
		}
		cfg.progress(p)
	}
	p.BytesRead = p.BytesTotal
	cfg.progress(p)
	return p, nil
}

func (c Config) validate() error {
	var errs []error
	if c.Concept == nil {
		errs = append(errs, errors.New("concept: must be set"))
	}
	if c.Format != CSV && c.Format != NDJSON {
		errs = append(errs, fmt.Errorf("format %q: must be %q or %q", c.Format, CSV, NDJSON))
	}
	if c.Input == "" {
		errs = append(errs, errors.New("input: must name a file"))
	}
	if c.Report == nil {
		errs = append(errs, errors.New("report: must be set, rejected rows go there"))
	}
	if c.Retries < 0 || c.Backoff < 0 {
		errs = append(errs, errors.New("retries, backoff: must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) progress(p Progress) {
	if c.Progress != nil {
		c.Progress(p)
	}
}

// rowProblems validates a row against the model, read errors first. The
// row's text is put in NFC first, as the hub does on the way in, so that
// the importer refuses exactly what the hub would (a name within its
// length in NFC may be over it as written in NFD).
func rowProblems(c *model.Concept, row Row) []model.FieldError {
	if row.Err != nil {
		return []model.FieldError{{Field: "", Rule: "format", Message: row.Err.Error()}}
	}
	return c.Validate(c.Normalize(row.Fields))
}

func putWithRetry(ctx context.Context, sink Sink, concept string, fields map[string]any, retries int, backoff time.Duration) (string, error) {
	var err error
	for attempt := 0; ; attempt++ {
		var id string
		id, err = sink.Put(ctx, concept, fields)
		var rej *Rejection
		if err == nil || errors.As(err, &rej) || Permanent(err) || attempt == retries {
			return id, err
		}
		select {
		case <-ctx.Done():
			return "", errors.Join(err, ctx.Err())
		case <-time.After(backoff << attempt):
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = f.Close() }() // read only
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func loadCheckpoint(path string) (checkpoint, bool, error) {
	var cp checkpoint
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cp, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, false, fmt.Errorf("checkpoint %s is corrupt (remove it to start over): %w", path, err)
	}
	return cp, true, nil
}

// saveCheckpoint replaces the checkpoint atomically (write, then rename), so
// an interrupted import never leaves half a checkpoint.
func saveCheckpoint(path string, cp checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return errors.Join(fmt.Errorf("save checkpoint: %w", err), tmp.Close(), removeTemp(tmp.Name()))
	}
	if err := tmp.Close(); err != nil {
		return errors.Join(fmt.Errorf("save checkpoint: %w", err), removeTemp(tmp.Name()))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// removeTemp removes a temporary checkpoint file that was not renamed into
// place, naming it if that fails.
func removeTemp(name string) error {
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("remove temporary checkpoint: %w", err)
	}
	return nil
}
