package console

import "sync"

// importJobs holds the bulk imports that run or ran in this process.
type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

type importJob struct{}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }
